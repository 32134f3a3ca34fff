"""
Serving without PyTorch: `export_archive` turns an `ain_tagger` archive into a folder with an ONNX
graph and a description of its inputs (`allennlp ain-export`, or `python -m allennlp_ain.export`),
which `allennlp_ain_onnx.ExportedTagger` runs with numpy and onnxruntime alone. See
`allennlp_ain.export.exporter` for the format and the choice of exporter.
"""
from allennlp_ain.export.graph import SUPPORTED_DECODERS, SUPPORTED_ENCODERS, ExportError, ExportedTaggerGraph
from allennlp_ain.export.exporter import export_archive, export_model

__all__ = [
    "SUPPORTED_DECODERS",
    "SUPPORTED_ENCODERS",
    "ExportError",
    "ExportedTaggerGraph",
    "export_archive",
    "export_model",
]
