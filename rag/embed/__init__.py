"""Embed: the embedding model behind one small interface, on PyTorch or ONNX Runtime."""
