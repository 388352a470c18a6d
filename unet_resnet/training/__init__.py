"""The training room, in the order a run goes through it.

- ``setup``: process group, run folder, data, models, the trainer -> a ``Run``
- ``trainer``: ``Pix2PixTrainer``, which owns the networks (wrapped in one place: SyncBN, DDP, compile), optimizers,
  gradient scalers, EMA and losses; ``pretrain_step(batch)``, ``gan_step(batch)``, ``state_dict()``
- ``loop``: ``fit(run)``, the plain loop over stages, epochs and steps; validation and checkpoints at step intervals
- ``steps``: the math of one optimizer step of each stage, as functions a test can call on random tensors
- ``validation``: metrics and sample grids during training
- ``bn_stats``: precise BatchNorm statistics before each validation, capped by their cost
- ``state``: the ``Run``, what its checkpoints hold, resuming
- ``progress``: where a run is, what it reports, and why it stops
- ``api``: ``train(cfg)``, the whole run from Python (``unet_resnet.train``)

Nothing is imported here, so importing one of these modules does not import the others.
"""
