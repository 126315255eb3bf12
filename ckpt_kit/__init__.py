"""The kit's machinery, one module per responsibility; lessons import it through ``ckpt_helpers``.

- ``paths``: where the kit's data, notebooks and settings are;
- ``errors``: the ``CheckpointError`` family every checkpoint helper raises;
- ``formats``: what kind of file a path holds, and the integrity check of a torch zip archive;
- ``saving``: ``save_checkpoint`` (crash-proof) and ``rotate_checkpoints``;
- ``loading``: ``load_checkpoint``, ``latest_checkpoint`` and ``load_weights``;
- ``pickle_reading``: a pickle read into placeholders, never running what it names, and the
  rules torch's ``weights_only=True`` reader applies;
- ``inspection``: ``inspect_checkpoint``, what a file holds, without running it;
- ``state_dicts``: the check that a value is a model's state_dict, shared by the tools above;
- ``widgets``: ``state_dict_explorer`` and ``checkpoint_timeline``;
- ``exercises``: finding exercises, student notebooks; ``checker``: grading a student notebook;
- ``cli``: ``python -m ckpt_helpers check | student | inspect``.

Imports run one way: ``ckpt_helpers`` imports these modules, never the reverse; the checkpoint
modules import neither the lesson helpers nor the exercise tooling. Importing the package does
no work.
"""
