"""The one tokenizer every zoo family shares, trained here from a fixed corpus.

No tokenizer can be downloaded on the build machine, and the real models' vocabularies
(32k-256k tokens) would make the embedding tables dwarf the tiny transformer. A byte-level
BPE of a few hundred tokens keeps every checkpoint small, can encode any text (so no unknown
token is ever needed), and is retrained bit-identically from the corpus below on every build.
"""

from __future__ import annotations

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

# The special tokens take the first ids, in this order, so their ids never move when the
# corpus or the merge budget changes.
ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS: tuple[str, ...] = (ENDOFTEXT, IM_START, IM_END)

# Qwen2-style roles: <|endoftext|> starts and pads documents, <|im_end|> closes a chat turn
# and is the end-of-sequence token, so a chat reply and a plain completion stop at the same id.
# Byte-level BPE never needs an unknown token; <|endoftext|> fills the slot (as in GPT-2)
# because transformers' Qwen2 tokenizer class defaults it to that anyway, and the families
# should not disagree about it.
BOS_TOKEN = ENDOFTEXT
PAD_TOKEN = ENDOFTEXT
UNK_TOKEN = ENDOFTEXT
EOS_TOKEN = IM_END

# transformers 5 loads any checkpoint whose model_type is "qwen2" with its Qwen2Tokenizer
# class, which ignores the saved normaliser and pre-tokeniser and installs NFC plus this split
# (one digit per piece, words with one leading non-letter). Every family uses the same two, so
# a text gets the same ids whichever family's folder the tokenizer is loaded from.
PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"""
    r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)

# 256 byte symbols + 3 special tokens + merges. Small enough that the embedding and output
# matrices stay in proportion to a 256-wide model, large enough that ordinary English text
# compresses to roughly word-sized pieces, which makes token counts in tests look realistic.
VOCAB_SIZE = 512

# Must match the longest context any family declares (see families.py).
MODEL_MAX_LENGTH = 2048

# ChatML. The template reads message['content'] as a plain string, which makes vLLM's
# content-format detection pick "string" and flatten OpenAI-style content parts before
# rendering. The whitespace control keeps the rendered prompt free of stray newlines.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- endif -%}"
)

# Fixed training text. Editing it changes every token id: bump manifest.BUILDER_VERSION.
CORPUS: tuple[str, ...] = (
    "A cluster is a group of machines that work together. Each machine in the cluster runs "
    "one or more replicas of a model, and a router sends every request to a replica that has "
    "room for it. When a replica fails, the cluster starts a new one and the router stops "
    "sending it traffic until it is healthy again.",
    "A language model reads a prompt as a sequence of tokens and predicts the next token, one "
    "at a time. The server streams each new token back to the client as soon as it is ready, "
    "so the user sees the first words of the answer long before the last ones are written.",
    "Requests arrive at the gateway over HTTP or gRPC. The gateway checks the request, counts "
    "its tokens, applies the rate limit of the tenant, and forwards it to the model server. "
    "Responses carry the number of prompt tokens, completion tokens and the total, so that "
    "usage can be billed and monitored.",
    "The scheduler batches requests from many users into one step of the engine. A larger "
    "batch gives more throughput, a smaller batch gives lower latency. The key value cache "
    "holds the attention state of every running request, and when it is full new requests "
    "wait in the queue.",
    "Operators watch the health of the cluster: the number of replicas, the queue length, the "
    "time to first token, the time per output token and the error rate. An alert fires when "
    "the latency stays above its target for five minutes.",
    "User: What is the status of the cluster? Assistant: All replicas are healthy. "
    "User: How many requests did we serve today? Assistant: We served 12,345 requests with a "
    "median latency of 42 ms and a p99 of 310 ms.",
    "Numbers and symbols: 0 1 2 3 4 5 6 7 8 9 10 16 32 64 128 256 512 1024 2048 4096. "
    "3.14 2.71 1e-5 100% 50/50 (a) [b] {c} <d> x = y + z; a - b * c / d ! ? : ; , . ' \" "
    "# $ % & @ ^ _ ` | ~ \\ -> => == != <= >=",
)


def train_tokenizer() -> Tokenizer:
    """Train the byte-level BPE on the embedded corpus."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    # Split into words/digits/punctuation, then map bytes to printable symbols, so every
    # string (any language, any emoji) has an encoding.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS, trainer=trainer)
    return tokenizer


def build_tokenizer() -> PreTrainedTokenizerFast:
    """The shared tokenizer, wrapped with its special tokens and chat template."""
    return PreTrainedTokenizerFast(
        tokenizer_object=train_tokenizer(),
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        unk_token=UNK_TOKEN,
        chat_template=CHAT_TEMPLATE,
        model_max_length=MODEL_MAX_LENGTH,
        # Byte-level decoding is already exact; the clean-up would rewrite " ." and " 's"
        # and break the encode/decode round trip.
        clean_up_tokenization_spaces=False,
    )
