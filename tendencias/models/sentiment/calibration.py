"""Calibrated confidence: temperature scaling, expected calibration error and a reliability diagram.

A local answer's `confidence` decides whether the pipeline asks the API about a post, so it must
mean what it says: of the answers given with confidence 0.8, about 80% should be right. The
diagram is a PNG written with the standard library (zlib), so training needs no plotting package.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The softmax temperature minimising the negative log-likelihood (grid, then refine)."""

    def nll(t: float) -> float:
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(labels)), labels].mean())

    grid = np.exp(np.linspace(np.log(0.1), np.log(20.0), 107))
    best = min(grid, key=nll)
    fine = best * np.exp(np.linspace(-0.05, 0.05, 21))
    return float(min(fine, key=nll))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Mean |accuracy - confidence| over confidence bins, weighted by the share of texts in each."""
    confidence, predicted = probs.max(axis=1), probs.argmax(axis=1)
    edges = np.linspace(0, 1, bins + 1)
    error = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (confidence > lo) & (confidence <= hi)
        if inside.any():
            error += inside.mean() * abs(
                (predicted[inside] == labels[inside]).mean() - confidence[inside].mean()
            )
    return round(float(error), 4)


def reliability_table(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> list[dict]:
    """Per confidence bin: its range, how many answers, their mean confidence and accuracy."""
    confidence, predicted = probs.max(axis=1), probs.argmax(axis=1)
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (confidence > lo) & (confidence <= hi)
        n = int(inside.sum())
        rows.append(
            {
                "bin": [round(float(lo), 2), round(float(hi), 2)],
                "count": n,
                "confidence": round(float(confidence[inside].mean()), 4) if n else None,
                "accuracy": round(float((predicted[inside] == labels[inside]).mean()), 4) if n else None,
            }
        )
    return rows


def _png(pixels: np.ndarray) -> bytes:
    """An RGB uint8 array (height, width, 3) as PNG bytes."""
    height, width, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def write_reliability_diagram(series: dict[str, list[dict]], path: Path, size: int = 400) -> Path:
    """A reliability diagram per named table (side by side): bars of accuracy per confidence bin
    (blue), the bin's mean confidence (orange tick), the diagonal of perfect calibration (grey)."""
    margin, panels = 20, len(series)
    image = np.full((size + 2 * margin, panels * (size + margin) + margin, 3), 255, dtype=np.uint8)
    for k, rows in enumerate(series.values()):
        x0, y0 = margin + k * (size + margin), margin
        image[y0 : y0 + size, x0] = image[y0 + size - 1, x0 : x0 + size] = (0, 0, 0)
        for i in range(size):  # the diagonal
            image[y0 + size - 1 - i, x0 + i] = (160, 160, 160)
        width = size // len(rows)
        for j, row in enumerate(rows):
            if not row["count"]:
                continue
            left = x0 + j * width + 2
            top = y0 + size - int(round(row["accuracy"] * size))
            image[top : y0 + size - 1, left : left + width - 4] = (70, 120, 200)
            tick = y0 + size - int(round(row["confidence"] * size))
            image[max(y0, tick - 1) : tick + 2, left : left + width - 4] = (230, 120, 30)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_png(image))
    return path
