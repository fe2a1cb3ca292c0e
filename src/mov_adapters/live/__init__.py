"""Live pushes over Socket.IO, and the shapes they carry."""
