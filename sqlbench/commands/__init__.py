"""One module per subcommand: ``configure(parser)`` adds its flags, ``run(args)`` runs it.

These modules import only argparse, config and light engine modules at top level.
"""
