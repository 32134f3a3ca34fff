from setuptools import find_packages, setup

setup(
    name="allennlp-ain",
    version="0.1.0",
    description="Fast and accurate neural sequence labelling for AllenNLP: exact CRF, MaxEnt and "
    "AIN (mean-field) decoders, readers for CoNLL/UD/ATIS, a predictor and a spaCy component.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.9",
    packages=find_packages(include=["allennlp_ain", "allennlp_ain.*"]),
    # the fused mean-field kernels, compiled on first use (`mean_field_kernels.py`)
    package_data={"allennlp_ain.modules.decoders": ["mean_field_kernels.cpp"]},
    # the spaCy component: a top-level module, so that spaCy importing its entry point does not
    # import the allennlp_ain package (AllenNLP and torch)
    # the runtime of exported taggers (`allennlp ain-export`): numpy and onnxruntime only, so also
    # a top-level module, outside the package that imports AllenNLP
    py_modules=["allennlp_ain_spacy", "allennlp_ain_onnx"],
    install_requires=[
        "allennlp==2.10.1",
        "torch>=2.1",
        "conllu>=4.5",
        "spacy>=3.8,<3.9",
        # the distillation callback locks its cache of teacher signals
        "filelock>=3",
    ],
    extras_require={
        # `allennlp ain-export` and its runtime, `allennlp_ain_onnx` (the tests use them too)
        "export": ["onnx>=1.17", "onnxruntime>=1.20"],
        "test": [
            "pytest>=8",
            "pytest-xdist>=3",
            "filelock>=3",
            "seqeval>=1.2.2",
            "hypothesis>=6.100",
            "onnx>=1.17",
            "onnxruntime>=1.20",
        ],
        "bench": ["pytorch-crf==0.7.2", "matplotlib>=3.7"],
    },
    entry_points={"spacy_factories": ["ain_tagger = allennlp_ain_spacy:make_ain_tagger"]},
)
