from sqlbench.cli import main

raise SystemExit(main())
