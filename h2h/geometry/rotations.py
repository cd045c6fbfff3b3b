"""Rotation conversions shared by fitting, rendering, conditioning and metrics.

Conventions (the "camera frame" of the fit): right-handed, x to the image right, y up, z toward
the camera. A head rotation R maps model coordinates (ICT: x to the subject's left, y up, z out of
the face) into that frame.

- Rotation vector: axis * angle in radians (what the fit tables store as rot_x, rot_y, rot_z).
- Euler angles: degrees, ``(pitch, yaw, roll)`` with ``R = Rz(roll) @ Ry(yaw) @ Rx(pitch)``.
  Signs for a subject facing the camera: positive pitch turns the face down, positive yaw turns
  it toward the image right (the subject's own left), positive roll tilts the top of the head
  toward the image left (counter-clockwise on screen).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation


def rotvec_to_matrix(rotvec: np.ndarray) -> np.ndarray:
    """Rodrigues' formula for (..., 3) rotation vectors -> (..., 3, 3) matrices.

    Written out in numpy rather than through scipy because the per-frame fit calls it in its
    inner loop, where scipy's object overhead dominates.
    """
    r = np.asarray(rotvec, dtype=np.float64)
    theta = np.linalg.norm(r, axis=-1)[..., None, None]
    k = np.zeros(r.shape[:-1] + (3, 3))
    k[..., 0, 1], k[..., 0, 2] = -r[..., 2], r[..., 1]
    k[..., 1, 0], k[..., 1, 2] = r[..., 2], -r[..., 0]
    k[..., 2, 0], k[..., 2, 1] = -r[..., 1], r[..., 0]
    small = theta < 1e-8
    safe = np.where(small, 1.0, theta)
    a = np.where(small, 1.0 - theta**2 / 6.0, np.sin(safe) / safe)
    b = np.where(small, 0.5 - theta**2 / 24.0, (1.0 - np.cos(safe)) / safe**2)
    return np.eye(3) + a * k + b * (k @ k)


def matrix_to_rotvec(matrix: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 3) rotation vectors (radians)."""
    m = np.asarray(matrix, dtype=np.float64)
    flat = m.reshape(-1, 3, 3)
    out = Rotation.from_matrix(flat).as_rotvec()
    return out.reshape(m.shape[:-2] + (3,))


def matrix_to_euler(matrix: np.ndarray) -> np.ndarray:
    """(..., 3, 3) matrices -> (..., 3) Euler angles ``(pitch, yaw, roll)`` in degrees."""
    m = np.asarray(matrix, dtype=np.float64)
    zyx = Rotation.from_matrix(m.reshape(-1, 3, 3)).as_euler("ZYX", degrees=True)
    return zyx[:, ::-1].reshape(m.shape[:-2] + (3,))


def euler_to_matrix(euler_deg: np.ndarray) -> np.ndarray:
    """(..., 3) Euler angles ``(pitch, yaw, roll)`` in degrees -> (..., 3, 3) matrices."""
    e = np.asarray(euler_deg, dtype=np.float64)
    mats = Rotation.from_euler("ZYX", e.reshape(-1, 3)[:, ::-1], degrees=True).as_matrix()
    return mats.reshape(e.shape[:-1] + (3, 3))


def rotvec_to_euler(rotvec: np.ndarray) -> np.ndarray:
    """(..., 3) rotation vectors -> (..., 3) Euler angles ``(pitch, yaw, roll)`` in degrees.

    Rows with a NaN (frames without a fitted face) give NaN angles.
    """
    rotvec = np.asarray(rotvec, dtype=np.float64)
    flat = rotvec.reshape(-1, 3)
    out = np.full(flat.shape, np.nan)
    finite = np.isfinite(flat).all(axis=1)
    if finite.any():
        out[finite] = matrix_to_euler(rotvec_to_matrix(flat[finite]))
    return out.reshape(rotvec.shape)


def euler_to_rotvec(euler_deg: np.ndarray) -> np.ndarray:
    """(..., 3) Euler angles ``(pitch, yaw, roll)`` in degrees -> (..., 3) rotation vectors."""
    return matrix_to_rotvec(euler_to_matrix(euler_deg))


def rotation_angle_deg(r_a: np.ndarray, r_b: np.ndarray) -> np.ndarray:
    """Angle in degrees of the relative rotation between two (..., 3, 3) rotation matrices."""
    rel = np.swapaxes(np.asarray(r_a), -1, -2) @ np.asarray(r_b)
    cos = (np.trace(rel, axis1=-2, axis2=-1) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
