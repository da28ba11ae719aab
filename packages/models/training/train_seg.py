"""Segmentation training: compact U-Net, BCE + soft Dice, fp32."""

import math
import time

import torch
import torch.nn.functional as F

from augment import augment_batch
from nets import SegNet


def seg_loss(logits, target):
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    inter = (p * target).sum((1, 2, 3))
    denom = p.sum((1, 2, 3)) + target.sum((1, 2, 3))
    dice = 1 - (2 * inter + 1) / (denom + 1)
    return bce + dice.mean()


def train_seg(data, train_idx, val_idx, cfg, log):
    gen = torch.Generator().manual_seed(cfg["seed"] + 1)
    torch.manual_seed(cfg["seed"] + 1)
    net = SegNet(tuple(cfg["seg_widths"]))
    size, epochs, batch, lr = cfg["seg_size"], cfg["seg_epochs"], 32, 3e-3
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * math.ceil(len(train_idx) / batch),
                                                pct_start=0.15)
    exact, aug = torch.from_numpy(data["seg"])[:, None], torch.from_numpy(data["aug"])[:, None]
    mexact, maug = torch.from_numpy(data["mask_seg"])[:, None], torch.from_numpy(data["mask_aug"])[:, None]
    box, positive = torch.from_numpy(data["box"]), torch.from_numpy(data["positive"])
    net.to(memory_format=torch.channels_last)  # oneDNN's fast path on CPU: ~1.6x per batch here
    for ep in range(epochs):
        net.train()
        t0, total = time.time(), 0.0
        perm = train_idx[torch.randperm(len(train_idx), generator=gen)]
        for i in range(0, len(perm), batch):
            j = perm[i : i + batch]
            x, _, _, m = augment_batch(exact[j], aug[j].float() / 255, box[j], positive[j], gen, size,
                                       mask_exact=mexact[j], mask_aug=maug[j].float() / 255)
            loss = seg_loss(net(x.contiguous(memory_format=torch.channels_last)), m)
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
    inter = (pred & m).sum((1, 2, 3)).float()
    dice = 2 * inter / (pred.sum((1, 2, 3)) + m.sum((1, 2, 3))).float().clamp(min=1)
    area_err = (pred.sum((1, 2, 3)) - m.sum((1, 2, 3))).abs().float() / m.sum((1, 2, 3)).float().clamp(min=1)
    neg_empty = (pred.sum((1, 2, 3))[~pos] == 0).float()
    return {"val_dice_at_input_res": round(float(dice[pos].mean()), 4),
            "val_area_error_at_input_res": round(float(area_err[pos].mean()), 4),
            "val_negatives_empty_mask": round(float(neg_empty.mean()), 4) if len(neg_empty) else None}

