"""The kit's dataset and checkpoint fixtures (see README.md here), installed as ``ckpt_kit.data``.

Nothing to import: code finds these files through ``ckpt_kit.paths.DATA_DIR``.
"""
