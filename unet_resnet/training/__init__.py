"""The training room, in the order a run goes through it.

- ``setup``: process group, run folder, data, models, wrapping, optimizers -> a ``Run``
- ``loop``: ``fit(run)``, the loop over stages, epochs and steps; validation and checkpoints after each epoch
- ``steps``: one optimizer step of each stage (``pretrain_step``, ``gan_step``)
- ``validation``: metrics and sample grids during training
- ``state``: the ``Run``, what its checkpoints hold, resuming
- ``progress``: where a run is, and why it stops
- ``api``: ``train(cfg)``, the whole run from Python (``unet_resnet.train``)

Nothing is imported here, so importing one of these modules does not import the others.
"""
