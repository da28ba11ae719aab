"""Batch augmentation in torch: random crops (the box moves/clips with the image), deeper fields, flips,
gain/gamma/offset/noise/blur.

Crops are taken from the larger `aug` copy and resized with antialiased bilinear interpolation, an
approximation of the exact area resize used at inference; half the batch keeps the exact input.
"""

import torch
import torch.nn.functional as F


def random_windows(n: int, gen: torch.Generator, min_frac: float) -> torch.Tensor:
    """(n, 4) crop windows x0,y0,x1,y1 in [0,1]."""
    sw = min_frac + (1 - min_frac) * torch.rand(n, generator=gen)
    sh = min_frac + (1 - min_frac) * torch.rand(n, generator=gen)
    ox = (1 - sw) * torch.rand(n, generator=gen)
    oy = (1 - sh) * torch.rand(n, generator=gen)
    return torch.stack([ox, oy, ox + sw, oy + sh], dim=1)


def crop_resize(img: torch.Tensor, win: torch.Tensor, size: int, gen: torch.Generator | None = None) -> torch.Tensor:
    """img (N,1,A,A) float; crop each window and resize to (size,size).

    A window reaching below the image (y1 > 1) emulates a deeper field: the rows below are filled with
    the speckle statistics of the image's deepest rows (dark, noisy tissue), or zeros without `gen`
    (masks).
    """
    a = img.shape[-1]
    out = []
    for i in range(img.shape[0]):
        x0, y0, x1, y1 = (win[i] * a).round().long().tolist()
        x1, y1 = max(x1, x0 + 8), max(y1, y0 + 8)
        patch = img[i : i + 1, :, y0:y1, x0:x1]
        if y1 > a:
            fill = torch.zeros(1, 1, y1 - a, patch.shape[-1])
            if gen is not None:
                deep = img[i, 0, a - a // 12 :, x0:x1]
                fill = (deep.mean() + deep.std() * torch.randn(fill.shape, generator=gen)).clamp(0, 1)
                fill = F.avg_pool2d(fill, 3, stride=1, padding=1, count_include_pad=False)
            patch = torch.cat([patch, fill], dim=2)
        out.append(F.interpolate(patch, size=(size, size), mode="bilinear", align_corners=False, antialias=True))
    return torch.cat(out)


def window_box(box: torch.Tensor, win: torch.Tensor) -> torch.Tensor:
    """Boxes in [0,1] of the full crop -> boxes in [0,1] of each window (clipped)."""
    w = (win[:, 2] - win[:, 0])[:, None]
    h = (win[:, 3] - win[:, 1])[:, None]
    xs = (box[:, [0, 2]] - win[:, [0]]) / w
    ys = (box[:, [1, 3]] - win[:, [1]]) / h
    return torch.stack([xs[:, 0], ys[:, 0], xs[:, 1], ys[:, 1]], dim=1).clamp(0, 1)


def photometric(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Gain, gamma, brightness offset, electronic and multiplicative noise, occasional blur.

    Wider than the generator's own gain / dynamic-range / noise ranges so the models do not learn
    one scanner's display curve.
    """
    n = x.shape[0]
    r = lambda: torch.rand(n, 1, 1, 1, generator=gen)
    gamma = torch.exp((r() - 0.5) * 0.9)
    gain = 0.75 + 0.5 * r()
    offset = (r() - 0.5) * 0.2 * (r() < 0.5)
    x = x.clamp(0, 1) ** gamma * gain + offset
    x = x * (1 + torch.randn(x.shape, generator=gen) * 0.25 * r() * (r() < 0.4))
    x = x + torch.randn(x.shape, generator=gen) * 0.05 * r()
    blur = (torch.rand(n, generator=gen) < 0.2).nonzero().flatten()
    if len(blur):
        x[blur] = F.avg_pool2d(x[blur], 3, stride=1, padding=1, count_include_pad=False)
    return x.clamp(0, 1)


CUT_OFF = 1  # index of 'ribeye_cut_off' in dataset.VIEW_CLASSES


def augment_batch(exact, aug, box, has_box, view, gen, size, mask_exact=None, mask_aug=None, crop_p=0.7,
                  min_frac=0.45, deep_p=0.3):
    """Returns (x, box, has_box, view, mask) for a batch.

    Crops zoom in anywhere (the box moves and clips; width and height scale independently, so the
    aspect changes too), reach below the image as a deeper field would (`deep_p` of them), or stop
    above its bottom (shallow framing); half the batch is mirrored (the probe held the other way).
    A crop that keeps under 45 % of a ribeye's box turns the view into `ribeye_cut_off`; 45-65 % is
    left out of the view loss (-1: neither clearly usable nor clearly cut off); under 15 % there is
    no box left to find.
    """
    n = exact.shape[0]
    x = exact.clone()
    box = box.clone()
    has_box = has_box.clone()
    view = view.clone()
    mask = mask_exact.clone() if mask_exact is not None else None
    do_crop = torch.rand(n, generator=gen) < crop_p
    idx = do_crop.nonzero().flatten()
    if len(idx):
        win = random_windows(len(idx), gen, min_frac)
        deep = torch.rand(len(idx), generator=gen) < deep_p
        win[deep, 1] = 0.08 * torch.rand(int(deep.sum()), generator=gen)
        win[deep, 3] = 1 + 0.45 * torch.rand(int(deep.sum()), generator=gen)
        x[idx] = crop_resize(aug[idx], win, size, gen)
        nb = window_box(box[idx], win)
        area = lambda b: (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
        kept = area(nb) * (win[:, 2] - win[:, 0]) * (win[:, 3] - win[:, 1]) / area(box[idx]).clamp(min=1e-6)
        was = view[idx]
        view[idx] = torch.where((was == 0) & (kept < 0.45), torch.full_like(was, CUT_OFF),
                                torch.where((was == 0) & (kept < 0.65), torch.full_like(was, -1), was))
        has_box[idx] = has_box[idx] & (kept >= 0.15)
        box[idx] = nb
        if mask is not None:
            mask[idx] = crop_resize(mask_aug[idx], win, size)
    flip = (torch.rand(n, generator=gen) < 0.5).nonzero().flatten()
    x[flip] = x[flip].flip(-1)
    box[flip] = torch.stack([1 - box[flip, 2], box[flip, 1], 1 - box[flip, 0], box[flip, 3]], dim=1)
    if mask is not None:
        mask[flip] = mask[flip].flip(-1)
    box = box * has_box[:, None].float()
    return photometric(x, gen), box, has_box, view, mask


def roi_batch(roi, mask_roi, gen):
    """The refine pass's samples (ribeye box + random margins, cut from the full-resolution frame):
    mirrored half the time, photometric changes as for the first pass; their margins already vary."""
    x, m = roi.clone(), mask_roi.clone()
    flip = torch.rand(x.shape[0], generator=gen) < 0.5
    x[flip] = x[flip].flip(-1)
    m[flip] = m[flip].flip(-1)
    return photometric(x, gen), m
