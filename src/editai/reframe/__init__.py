"""Speaker-following reframing: where the faces of a clip are, and the crop that follows them.

* ``model_files``: the face detector's model files, located and checksummed.
* ``faces``: the detector, run as a child process (``python -m editai.reframe.faces``) on
  raw frames FFmpeg decodes into its stdin.
* ``detect``: starts FFmpeg and that child for a clip window; the samples and scene cuts.
* ``path``: the crop path, pure: per shot, hold the median face, re-aim only for a lasting
  move, glide, fall back to the centre or to FIT_BLUR.
* ``graph``: the FFmpeg filter graph of a path.
* ``render``: :func:`render_clip`, the one entry point that cuts a clip framed any way.
"""
