"""Segmentation training: compact U-Net, BCE + soft Dice (+ a bounded area term) on ribeyes, fp32."""

import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from augment import augment_batch, roi_batch
from dataset import VIEW_CLASSES
from nets import SegNet


def seg_loss(logits, target, area_weight: float):
    """BCE over every pixel, soft Dice and (weighted) a bounded area term over the samples that show a
    ribeye (or its visible part).

    Negatives (empty masks) are left to the BCE: a per-sample soft Dice on an empty target is
    1 - 1/(1 + sum p), ~1 as soon as a few pixels are lit, so it pays the net to empty every mask. The
    area term is |A_p - A_t| / (A_p + A_t), in [0, 1]: the relative error |A_p - A_t| / A_t that 2.x
    tried is ~8 at initialisation (every pixel at 0.5), pushed all logits down together until the
    sigmoid saturated, and the U-Net collapsed to empty masks.
    """
    bce = F.binary_cross_entropy_with_logits(logits, target)
    area_t = target.sum((1, 2, 3))
    has = area_t >= 1
    if not has.any():
        return bce
    p = torch.sigmoid(logits[has])
    t = target[has]
    area_p, area_t = p.sum((1, 2, 3)), area_t[has]
    dice = 1 - (2 * (p * t).sum((1, 2, 3)) + 1) / (area_p + area_t + 1)
    area = (area_p - area_t).abs() / (area_p + area_t)
    return bce + dice.mean() + area_weight * area.mean()


def seg_training_set(data, train_idx):
    """Ribeyes and cut-off ribeyes (their visible mask) with a third of the anatomical negatives and
    noise (empty masks: nothing to outline there); never lifted-probe or mid-sweep frames, whose
    ribeye is there but unlabelled (the view verdict rejects those frames, not the mask)."""
    vc = data["view_class"][train_idx.numpy()]
    unlabelled = np.isin(vc, [VIEW_CLASSES.index("probe_lifted"), VIEW_CLASSES.index("motion_blur")])
    keep = (vc <= VIEW_CLASSES.index("ribeye_cut_off")) | (~unlabelled & (np.arange(len(vc)) % 3 == 0))
    return train_idx[torch.from_numpy(keep)]


def train_seg(data, train_idx, val_idx, cfg, log):
    train_idx = seg_training_set(data, train_idx)
    log(f"seg trains on {len(train_idx)} samples")
    gen = torch.Generator().manual_seed(cfg["seed"] + 1)
    torch.manual_seed(cfg["seed"] + 1)
    net = SegNet(tuple(cfg["seg_widths"]))
    size, epochs, batch, lr = cfg["seg_size"], cfg["seg_epochs"], 32, 3e-3
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * math.ceil(len(train_idx) / batch),
                                                pct_start=0.15)
    exact, aug = torch.from_numpy(data["seg"])[:, None], torch.from_numpy(data["aug"])[:, None]
    mexact, maug = torch.from_numpy(data["mask_seg"])[:, None], torch.from_numpy(data["mask_aug"])[:, None]
    box, has_box = torch.from_numpy(data["box"]), torch.from_numpy(data["has_box"])
    view = torch.from_numpy(data["view_class"])
    roi, mroi = torch.from_numpy(data["roi"])[:, None], torch.from_numpy(data["mask_roi"])[:, None]
    roi_share = cfg.get("seg_roi_share", 0.5)
    net.to(memory_format=torch.channels_last)  # oneDNN's fast path on CPU: ~1.6x per batch here
    for ep in range(epochs):
        net.train()
        t0, total = time.time(), 0.0
        perm = train_idx[torch.randperm(len(train_idx), generator=gen)]
        for i in range(0, len(perm), batch):
            j = perm[i : i + batch]
            x, _, _, _, m = augment_batch(exact[j], aug[j].float() / 255, box[j], has_box[j], view[j], gen, size,
                                          mask_exact=mexact[j], mask_aug=maug[j].float() / 255)
            # A share of the ribeyes as the refine pass sees them: the box and some margin, larger.
            sel = (has_box[j] & (torch.rand(len(j), generator=gen) < roi_share)).nonzero().flatten()
            if len(sel):
                x[sel], m[sel] = roi_batch(roi[j[sel]], mroi[j[sel]], gen)
            loss = seg_loss(net(x.contiguous(memory_format=torch.channels_last)), m, cfg.get("seg_area_weight", 0.0))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(j)
        log(f"seg epoch {ep + 1}/{epochs} loss {total / len(perm):.4f} ({time.time() - t0:.0f} s)")
    net.to(memory_format=torch.contiguous_format)
    return net, evaluate(net, data, val_idx)


@torch.no_grad()
def evaluate(net, data, idx, threshold: float = 0.5) -> dict:
    net.eval()
    x = torch.from_numpy(data["seg"][idx])[:, None]
    m = torch.from_numpy(data["mask_seg"][idx])[:, None] > 0.5
    pred = torch.sigmoid(net(x)) > threshold
    pos = torch.from_numpy(data["positive"][idx])
    dice, area_err = _dice_area(pred, m)
    neg_empty = (pred.sum((1, 2, 3))[~pos] == 0).float()
    # The refine pass on the ribeye box with random margins (the inference pipeline's figures come
    # from calibrate-seg-threshold.ts and pnpm eval:models).
    r_pred = torch.sigmoid(net(torch.from_numpy(data["roi"][idx])[:, None])) > threshold
    r_dice, r_area_err = _dice_area(r_pred, torch.from_numpy(data["mask_roi"][idx])[:, None] > 0.5)
    return {"val_dice_at_input_res": round(float(dice[pos].mean()), 4),
            "val_area_error_at_input_res": round(float(area_err[pos].mean()), 4),
            "val_roi_dice_at_input_res": round(float(r_dice[pos].mean()), 4),
            "val_roi_area_error_at_input_res": round(float(r_area_err[pos].mean()), 4),
            "val_negatives_empty_mask": round(float(neg_empty.mean()), 4) if len(neg_empty) else None}


def _dice_area(pred, m):
    inter = (pred & m).sum((1, 2, 3)).float()
    dice = 2 * inter / (pred.sum((1, 2, 3)) + m.sum((1, 2, 3))).float().clamp(min=1)
    area_err = (pred.sum((1, 2, 3)) - m.sum((1, 2, 3))).abs().float() / m.sum((1, 2, 3)).float().clamp(min=1)
    return dice, area_err

