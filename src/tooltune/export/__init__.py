"""`tooltune export-model`: a tuned model as files other runtimes load without tooltune —
merged safetensors with a chat template in the training layout (transformers, vLLM), GGUF
(llama.cpp, ollama), an ollama Modelfile, and a stand-alone vLLM tool-parser plugin."""
