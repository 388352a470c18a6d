"""How fast: the speed and memory bench behind ``unet-resnet bench`` (model steps, inference, loader, start-up)."""
