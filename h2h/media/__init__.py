"""Pictures and videos: decoding and encoding through ffmpeg, live capture, the synthetic label
and contact sheets."""
