"""NMFC rendering (paper 3.2, Eq. 3): the fitted face rasterised with the normalised mean-face
colours, so the same semantic point has the same colour in every frame of every person.

Each triangle is drawn flat in its entry of :attr:`FaceModel.triangle_colours` (unlit, no
multisampling), so every pixel of an NMFC image is either black background or exactly one
entry of that table. pyrender renders headless through EGL; one renderer is created per
video and reused for every frame.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from h2h.core.progress import progress
from h2h.face3d.face_model import FaceModel
from h2h.face3d.fit_table import cameras_of, expressions_of, identities_of
from h2h.geometry.camera import to_image_space

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import pyrender  # noqa: E402  (must follow PYOPENGL_PLATFORM)
import pyrender.renderer  # noqa: E402
from OpenGL.EGL import EGL_NO_CONTEXT, EGL_NO_SURFACE, eglMakeCurrent  # noqa: E402
from OpenGL.GL import (  # noqa: E402
    GL_ARRAY_BUFFER,
    GL_COLOR_BUFFER_BIT,
    GL_DEPTH_BUFFER_BIT,
    GL_DRAW_FRAMEBUFFER,
    GL_PACK_ALIGNMENT,
    GL_READ_FRAMEBUFFER,
    GL_RGB,
    GL_UNSIGNED_BYTE,
    glBindBuffer,
    glBindFramebuffer,
    glBindVertexArray,
    glBufferSubData,
    glClear,
    glDrawArraysInstanced,
    glPixelStorei,
    glReadPixels,
    glUseProgram,
)

_DEPTH_OFFSET = 1.0e4  # camera distance in pixels; faces span a few hundred


@contextlib.contextmanager
def _single_sample() -> Iterator[None]:
    """pyrender always allocates 4x multisampled buffers, which blend the colours of
    neighbouring triangles at their edges. While this is active it allocates them with 0
    samples, so each pixel takes the colour of exactly one triangle. Only the first render of
    a renderer allocates its buffers; patching around every call keeps it local to us."""
    original = pyrender.renderer.glRenderbufferStorageMultisample

    def no_samples(target, samples, internalformat, width, height):  # noqa: ANN001, ANN202
        return original(target, 0, internalformat, width, height)

    pyrender.renderer.glRenderbufferStorageMultisample = no_samples
    try:
        yield
    finally:
        pyrender.renderer.glRenderbufferStorageMultisample = original


def face_mask(nmfc: np.ndarray) -> np.ndarray:
    """(H, W) bool: the pixels covered by the face (any non-black NMFC pixel)."""
    return np.asarray(nmfc).any(-1)


class NMFCRenderer:
    """Renders NMFC images of one face model at one image size.

    Use as a context manager (or call :meth:`close`): it holds an EGL context. The first frame
    goes through pyrender, which compiles the shader, uploads the mesh and makes the
    framebuffer; every later frame only overwrites the vertex buffer, draws the one mesh with
    the state pyrender left and reads the colour buffer back. pyrender itself would rebuild and
    re-upload the whole mesh (~10x slower) and, each frame, walk the scene, set every uniform,
    resolve the (single-sample) framebuffer into a second one and read back and linearise a
    depth image nobody uses (together about two thirds of a 256 px frame's time). That reaches
    into pyrender 0.1.45's primitive (its vertex buffer is the first of ``_buffers``, positions
    then RGBA colours interleaved), renderer (the framebuffer ``_main_fb_ms``) and program
    cache, which is why the pin matters; the tests require the images of a reused renderer to
    equal those of pyrender's own path, pixel for pixel.
    """

    def __init__(self, model: FaceModel, height: int, width: int) -> None:
        self.model = model
        self.height, self.width = height, width
        self._renderer = pyrender.OffscreenRenderer(width, height)
        self._scene = pyrender.Scene(bg_color=[0.0, 0.0, 0.0, 1.0], ambient_light=[0.0, 0.0, 0.0])
        camera = pyrender.OrthographicCamera(
            xmag=width / 2, ymag=height / 2, znear=1.0, zfar=2 * _DEPTH_OFFSET
        )
        # Pixel (col, row) centre at world (col, -row): the view is centred on the image.
        pose = np.eye(4)
        pose[:3, 3] = (width - 1) / 2, -(height - 1) / 2, _DEPTH_OFFSET
        self._scene.add(camera, pose=pose)
        # Unwelded corners: three vertices per triangle, all in the triangle's colour.
        self._corners = model.triangles.reshape(-1)
        rgba = np.concatenate(
            [model.triangle_colours, np.full((len(model.triangles), 1), 255, np.uint8)], 1
        )
        # The interleaved vertex buffer: x, y, z, r, g, b, a as float32 (colours / 255).
        self._vertex_data = np.zeros((len(self._corners), 7), np.float32)
        self._vertex_data[:, 3:] = np.repeat(rgba, 3, axis=0) / np.float32(255.0)
        self._primitive = pyrender.Primitive(
            positions=self._vertex_data[:, :3],
            color_0=self._vertex_data[:, 3:],
            mode=pyrender.constants.GLTF.TRIANGLES,
        )
        self._scene.add(pyrender.Mesh([self._primitive]))
        self._program: int | None = None  # set by the first frame, which pyrender renders
        self._pixels = np.empty((height, width, 3), np.uint8)  # read-back buffer
        self._flags = pyrender.RenderFlags.FLAT
        # Float32 copies for the per-frame shape: (n, V*3) so a frame is one small matmul.
        self._expression_basis = model.expression_basis.reshape(model.n_expression, -1)
        self._release()

    def _release(self) -> None:
        """Detach the EGL context from this thread, so that another thread may render with it
        (pyrender leaves it current in the last thread that used it, where EGL refuses to make
        it current in a second one)."""
        platform = self._renderer._platform
        eglMakeCurrent(platform._egl_display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT)

    def __enter__(self) -> NMFCRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the EGL context."""
        if self._renderer is not None:
            self._renderer.delete()
            self._renderer = None

    def render_vertices(self, image_space: np.ndarray) -> np.ndarray:
        """(V, 3) vertices as (u, v, depth) from :func:`h2h.geometry.camera.to_image_space` -> (H, W, 3)
        uint8 NMFC image."""
        positions = self._vertex_data[:, :3]
        positions[:] = np.asarray(image_space, np.float32)[self._corners]
        positions[:, 1] *= -1.0
        if self._program is None:
            return self._render_with_pyrender(positions)
        platform = self._renderer._platform
        platform.make_current()
        try:
            glBindBuffer(GL_ARRAY_BUFFER, self._primitive._buffers[0])
            glBufferSubData(GL_ARRAY_BUFFER, 0, self._vertex_data.nbytes, self._vertex_data)
            framebuffer = self._renderer._renderer._main_fb_ms
            glBindFramebuffer(GL_DRAW_FRAMEBUFFER, framebuffer)
            glClear(GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT)
            glUseProgram(self._program)
            glBindVertexArray(self._primitive._vaid)
            glDrawArraysInstanced(self._primitive.mode, 0, len(self._corners), 1)
            glBindVertexArray(0)
            glUseProgram(0)
            glBindFramebuffer(GL_READ_FRAMEBUFFER, framebuffer)
            glPixelStorei(GL_PACK_ALIGNMENT, 1)
            glReadPixels(0, 0, self.width, self.height, GL_RGB, GL_UNSIGNED_BYTE, self._pixels)
        finally:
            self._release()
        return np.ascontiguousarray(self._pixels[::-1])  # GL's rows run bottom to top

    def _render_with_pyrender(self, positions: np.ndarray) -> np.ndarray:
        """The first frame: pyrender uploads the mesh, compiles the flat shader, sets its
        uniforms and the GL state (depth test, back-face culling, no blending) and makes the
        framebuffer, all of which later frames reuse."""
        self._primitive.positions = positions.copy()
        try:
            with _single_sample():
                color, _ = self._renderer.render(self._scene, flags=self._flags)
            renderer = self._renderer._renderer
            program = renderer._get_primitive_program(
                self._primitive, self._flags | pyrender.RenderFlags.OFFSCREEN,
                pyrender.constants.ProgramFlags.USE_MATERIAL)
        finally:
            self._release()
        self._program = program._program_id
        return np.ascontiguousarray(color[:, :, :3])

    def render(self, identity: np.ndarray, expression: np.ndarray, camera: np.ndarray) -> np.ndarray:
        """NMFC image of the model with these coefficients under a fit-table camera (6,)."""
        return self.render_vertices(to_image_space(self.model.shape(identity, expression), camera))

    def neutral_shape(self, identity: np.ndarray) -> np.ndarray:
        """(V, 3) float32 expressionless shape of ``identity``, for :meth:`render_expression`."""
        return self.model.shape(identity).astype(np.float32)

    def render_expression(
        self, neutral: np.ndarray, expression: np.ndarray, camera: np.ndarray
    ) -> np.ndarray:
        """NMFC image of a :meth:`neutral_shape` with ``expression`` under a fit-table camera.
        Only the active (non-zero) expression weights are added: the fast path for the many
        frames of one identity."""
        active = np.flatnonzero(expression)
        offset = np.asarray(expression)[active].astype(np.float32) @ self._expression_basis[active]
        return self.render_vertices(to_image_space(neutral + offset.reshape(-1, 3), camera))

    def render_table(
        self, table: pd.DataFrame, identity: np.ndarray | None = None
    ) -> Iterator[np.ndarray]:
        """NMFC image of every row of a fit (or conditioning) table, in order. ``identity``:
        use this one for every frame (a target's average identity), else each row's own.
        Invalid rows give black images."""
        cams, exps = cameras_of(table), expressions_of(table)
        ids = None if identity is not None else identities_of(table)
        fixed = None if identity is None else self.neutral_shape(identity)
        black = np.zeros((self.height, self.width, 3), np.uint8)
        valid = table["valid"].to_numpy(bool)
        with threadpool_limits(1):
            for i in progress(range(len(table)), desc="nmfc", total=len(table)):
                if not valid[i]:
                    yield black.copy()
                    continue
                if fixed is None:
                    yield self.render(ids[i], exps[i], cams[i])
                else:
                    yield self.render_expression(fixed, exps[i], cams[i])
