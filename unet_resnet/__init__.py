"""unet_resnet: Pix2Pix colorization of black-and-white photos in Lab space.

A U-Net generator over a timm ResNet18 encoder predicts the ab channels from L; a PatchGAN judges (L, ab) pairs.
"""

__version__ = "0.1.0"
