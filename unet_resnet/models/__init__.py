"""The networks and their files: the ResNet18 U-Net generator, the PatchGAN, checkpoints."""
