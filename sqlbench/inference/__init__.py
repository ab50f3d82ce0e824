"""Inference: find and load a model (``models``, ``gguf_convert``, ``students``), stream
its answers (``streaming``, ``chat``), serve it over HTTP (``serve``) and run its SQL
read-only on a user's database (``dbconn``)."""
