"""8-bit sRGB -> the network's Lab tensors, batched, on whichever device holds the batch.

The training loader hands over uint8 photos (4x fewer bytes than float32 Lab, and no colour conversion in the
workers); this module turns a batch of them into ``L (B, 1, H, W) in [0, 1]`` and ``ab (B, 2, H, W) in [-1, 1]``
exactly as :func:`unet_resnet.data.dataset.bgr8_to_tensors` does photo by photo.

:func:`lut_lab` is a torch re-implementation of what ``cv2.cvtColor(rgb_float32, cv2.COLOR_RGB2Lab)`` computes for
sRGB input in ``[0, 1]``. OpenCV does not evaluate the formulas per pixel there: it quantises each channel to 14
bits and interpolates trilinearly, in fixed point, in a 33 x 33 x 33 table of Lab values (14-bit fixed point too)
computed from the sRGB gamma, the D65 sRGB -> XYZ matrix, OpenCV's D65 white point (0.950456, 1, 1.088754) and the
CIE cube-root / linear branch at (6/29)^3. The table here is computed the same way in float32, the interpolation
is the same integer arithmetic, so the only differences are table entries that land on the other side of a
rounding tie: at most one table step (0.0061 in L, 0.0156 in a and b), for a small fraction of the colours.

:func:`opencv_lab` is OpenCV itself on a CPU batch: bit for bit what the float pipeline gives, used when training
on the CPU so that CPU results do not change.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from unet_resnet.data.color import AB_SCALE

LUT_CELLS = 32
"""Cells per axis of OpenCV's RGB -> Lab table (33 grid points per axis)."""
FIXED_BITS = 14
"""OpenCV's fixed point for the quantised input and the table's values: 1.0 is ``1 << 14``."""
FRACTION_BITS = 4
"""Bits of the position inside a cell that the interpolation weights use (16 steps per cell)."""

_SRGB_TO_XYZ = np.array(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
)
_D65_WHITE = np.array([0.950456, 1.0, 1.088754])


def _srgb_to_linear(x: np.ndarray) -> np.ndarray:
    xd = x.astype(np.float64)
    return np.where(xd <= 0.04045, xd / 12.92, ((xd + 0.055) / 1.055) ** 2.4)


@functools.cache
def lab_table() -> np.ndarray:
    """OpenCV's table: int32 ``(34, 34, 34, 3)`` indexed ``[r, g, b]``, 14-bit fixed point ``L / 100``,
    ``(a + 128) / 256``, ``(b + 128) / 256``; the last grid point is repeated once along each axis so that the
    upper neighbour of the last cell exists (weight 0)."""
    f32 = np.float32
    coeffs = (_SRGB_TO_XYZ / _D65_WHITE[:, None]).astype(f32)  # rows X, Y, Z over the white point
    lin = _srgb_to_linear(np.arange(LUT_CELLS + 1, dtype=f32) / f32(LUT_CELLS)).astype(f32)
    r, g, b = np.meshgrid(lin, lin, lin, indexing="ij")
    # float32 throughout, summed in OpenCV's order (blue, green, red)
    X, Y, Z = ((b * coeffs[i, 2] + g * coeffs[i, 1]) + r * coeffs[i, 0] for i in range(3))
    thresh, slope, bias = f32(216) / f32(24389), f32(841) / f32(108), f32(16) / f32(116)

    def f(t: np.ndarray) -> np.ndarray:
        return np.where(t > thresh, np.cbrt(t), (t.astype(np.float64) * slope + bias).astype(f32)).astype(f32)

    fx, fy, fz = f(X), f(Y), f(Z)
    L = np.where(Y > thresh, f32(116) * fy - f32(16), (f32(24389) / f32(27)) * Y).astype(f32)
    a, bb = f32(500) * (fx - fy), f32(200) * (fy - fz)
    one = f32(1 << FIXED_BITS)
    table = np.stack(
        [np.rint(one * L / f32(100)), np.rint(one * (a + f32(128)) / f32(256)), np.rint(one * (bb + f32(128)) / f32(256))],
        axis=-1,
    ).astype(np.int32)
    return np.pad(table, ((0, 1), (0, 1), (0, 1), (0, 0)), mode="edge")


@functools.cache
def _channel_steps() -> tuple[np.ndarray, np.ndarray]:
    """Per 8-bit value: its cell (0..32) and its position in the cell (0..15), as OpenCV quantises ``u8 / 255``."""
    fixed = np.rint((np.arange(256, dtype=np.float32) * np.float32(1 / 255)) * np.float32(1 << FIXED_BITS))
    fixed = fixed.astype(np.int64)
    cell_shift = FIXED_BITS - 5  # 32 cells
    fraction_shift = cell_shift - FRACTION_BITS
    return fixed >> cell_shift, (fixed >> fraction_shift) & ((1 << FRACTION_BITS) - 1)


@functools.cache
def _device_tables(device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    cells, fractions = _channel_steps()
    table = torch.from_numpy(lab_table().reshape(-1, 3).copy()).to(device)
    return table, torch.from_numpy(cells).to(device), torch.from_numpy(fractions).to(device)


def lut_lab(photos: torch.Tensor, channels: str = "bgr") -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 photos ``(B, H, W, 3)`` (``channels`` ``"bgr"`` or ``"rgb"``) -> ``L (B, 1, H, W) in [0, 1]`` and
    ``ab (B, 2, H, W) in [-1, 1]``, float32 on the photos' device (channels-last strides: no copy is made)."""
    if photos.dtype != torch.uint8 or photos.dim() != 4 or photos.shape[-1] != 3:
        raise ValueError(f"expected uint8 photos (B, H, W, 3), got {photos.dtype} {tuple(photos.shape)}")
    if channels not in ("bgr", "rgb"):
        raise ValueError(f"channels must be 'bgr' or 'rgb', got {channels!r}")
    table, cells, fractions = _device_tables(photos.device)
    B, H, W, _ = photos.shape
    x = photos.reshape(-1, 3).long()
    red, green, blue = (x[:, 2], x[:, 1], x[:, 0]) if channels == "bgr" else (x[:, 0], x[:, 1], x[:, 2])
    side = LUT_CELLS + 2  # the padded table's points per axis
    corner = (cells[red] * side + cells[green]) * side + cells[blue]
    full = 1 << FRACTION_BITS
    upper = [fractions[red].int(), fractions[green].int(), fractions[blue].int()]
    lower = [full - u for u in upper]
    acc = torch.zeros(x.shape[0], 3, dtype=torch.int32, device=photos.device)
    for dr in (0, 1):
        w_r = upper[0] if dr else lower[0]
        for dg in (0, 1):
            w_rg = w_r * (upper[1] if dg else lower[1])
            for db in (0, 1):
                w = w_rg * (upper[2] if db else lower[2])
                acc += table[corner + ((dr * side + dg) * side + db)] * w[:, None]
    half = 1 << (3 * FRACTION_BITS - 1)
    fixed = (acc + half) >> (3 * FRACTION_BITS)  # 14-bit L / 100, (a + 128) / 256, (b + 128) / 256
    lab = fixed.float().view(B, H, W, 3).permute(0, 3, 1, 2)
    L = (lab[:, :1] * (1.0 / (1 << FIXED_BITS))).clamp_(0.0, 1.0)
    ab = (lab[:, 1:] * (256.0 / AB_SCALE / (1 << FIXED_BITS)) - 1.0).clamp_(-1.0, 1.0)
    return L, ab


def opencv_lab(photos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 BGR photos ``(B, H, W, 3)`` on the CPU -> ``(L, ab)`` as :func:`lut_lab` gives them, computed by
    OpenCV in one call: bit for bit what :func:`~unet_resnet.data.dataset.bgr8_to_tensors` gives photo by photo."""
    from unet_resnet.data.dataset import bgr8_to_tensors

    if photos.dtype != torch.uint8 or photos.dim() != 4 or photos.shape[-1] != 3 or photos.device.type != "cpu":
        raise ValueError(f"expected uint8 CPU photos (B, H, W, 3), got {photos.dtype} {tuple(photos.shape)}")
    B, H, W, _ = photos.shape
    L, ab = bgr8_to_tensors(photos.numpy().reshape(B * H, W, 3))  # one image of all rows: the same per-pixel math
    return L.view(1, B, H, W).transpose(0, 1), ab.view(2, B, H, W).transpose(0, 1)


_XYZ_TO_SRGB = np.array(
    [[3.240479, -1.53715, -0.498535], [-0.969256, 1.875991, 0.041556], [0.055648, -0.204043, 1.057311]]
)


def lab_to_srgb(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """The network's ``L (B, 1, H, W) in [0, 1]`` and ``ab (B, 2, H, W) in [-1, 1]`` -> sRGB ``(B, 3, H, W)`` in
    ``[0, 1]``, on the tensors' device.

    The formulas of ``cv2.cvtColor(lab_float32, cv2.COLOR_Lab2RGB)``: the CIE linear branch below ``L = 8``, OpenCV's
    D65 white point and XYZ -> sRGB matrix, clipping to the gamut before the sRGB gamma. OpenCV applies the gamma
    through a spline table, so the two agree to about 1e-5, far below one 8-bit step.
    """
    lab_L = L.float() * 100.0
    a = ab[:, :1].float().clamp(-1, 1) * AB_SCALE
    b = ab[:, 1:2].float().clamp(-1, 1) * AB_SCALE
    linear = lab_L <= 0.008856 * 903.3
    y = torch.where(linear, lab_L / 903.3, ((lab_L + 16.0) / 116.0) ** 3)
    fy = torch.where(linear, 7.787 * y + 16.0 / 116.0, (lab_L + 16.0) / 116.0)
    f_threshold = 7.787 * 0.008856 + 16.0 / 116.0

    def inverse_f(f: torch.Tensor) -> torch.Tensor:
        return torch.where(f <= f_threshold, (f - 16.0 / 116.0) / 7.787, f**3)

    x, z = inverse_f(a / 500.0 + fy), inverse_f(fy - b / 200.0)
    matrix = torch.as_tensor(_XYZ_TO_SRGB * _D65_WHITE[None, :], dtype=torch.float32, device=L.device)
    xyz = torch.cat([x, y, z], dim=1)
    rgb = torch.einsum("ij,bjhw->bihw", matrix, xyz).clamp(0.0, 1.0)
    return torch.where(rgb <= 0.0031308, 12.92 * rgb, 1.055 * rgb.clamp_min(0.0031308) ** (1 / 2.4) - 0.055)
