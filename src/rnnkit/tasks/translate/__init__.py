"""Translation: a sentence in one language in, its translation out (the fourth task).

An encoder (the shared body, bidirectional and stacked) reads the source; a recurrent decoder writes the translation
one sub-word at a time, attending to the encoder's outputs (Bahdanau, Cho & Bengio 2015; Luong, Pham & Manning 2015),
and beam search finds a likely whole translation. The package holds everything that is translation's own:

=====================  =================================================================================  ======
module                 what                                                                               torch
=====================  =================================================================================  ======
``config``             :class:`TranslatorConfig` and every weight's name and shape                         no
``data``               reading sentence pairs (TSV, CSV, JSONL), the validation cut that keeps groups       no
``pieces``             sub-words: SentencePiece models learnt from the training text, kept as bytes         no
``attention``          Luong's and Bahdanau's scores, padding masked                                        yes
``network``            the encoder, the bridge, the decoder with input feeding, one decoding step          yes
``search``             greedy decoding and beam search with GNMT's length penalty, in NumPy                 no
``scoring``            BLEU and chrF with sacreBLEU, every translation of a source a reference              no
``objective``          the loop task: length-bucketed pairs, label-smoothed loss, validation BLEU or loss    yes
``translator``         the use side: texts in, translations out; evaluation                                no
``torch_translator``   the network on torch, as the search calls it                                         yes
``graph``              the encoder and one decoder step as ONNX graphs; the translator on onnxruntime       no
``saving``             a trained translator's directory: config, both sub-word models, weights              no
``fit``                train a translator from files: the settings and their defaults                      yes
=====================  =================================================================================  ======

Modules marked "no" import no torch, so a saved or exported translator translates where torch is not installed.
"""
