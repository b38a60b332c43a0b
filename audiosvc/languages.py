"""Whisper's languages: ISO-639-1 code <-> the lowercase English name.

``verbose_json`` from OpenAI and Groq prints the language as its lowercase English name
(``"english"``), while engines and requests speak codes (``"en"``). The table lists the 100
languages Whisper knows, with Whisper's own spellings (``"jw"`` for Javanese, ``"haw"`` for
Hawaiian, ``"yue"`` for Cantonese).
"""

from __future__ import annotations

from typing import Final

LANGUAGES: Final[dict[str, str]] = {
    "en": "english",
    "zh": "chinese",
    "de": "german",
    "es": "spanish",
    "ru": "russian",
    "ko": "korean",
    "fr": "french",
    "ja": "japanese",
    "pt": "portuguese",
    "tr": "turkish",
    "pl": "polish",
    "ca": "catalan",
    "nl": "dutch",
    "ar": "arabic",
    "sv": "swedish",
    "it": "italian",
    "id": "indonesian",
    "hi": "hindi",
    "fi": "finnish",
    "vi": "vietnamese",
    "he": "hebrew",
    "uk": "ukrainian",
    "el": "greek",
    "ms": "malay",
    "cs": "czech",
    "ro": "romanian",
    "da": "danish",
    "hu": "hungarian",
    "ta": "tamil",
    "no": "norwegian",
    "th": "thai",
    "ur": "urdu",
    "hr": "croatian",
    "bg": "bulgarian",
    "lt": "lithuanian",
    "la": "latin",
    "mi": "maori",
    "ml": "malayalam",
    "cy": "welsh",
    "sk": "slovak",
    "te": "telugu",
    "fa": "persian",
    "lv": "latvian",
    "bn": "bengali",
    "sr": "serbian",
    "az": "azerbaijani",
    "sl": "slovenian",
    "kn": "kannada",
    "et": "estonian",
    "mk": "macedonian",
    "br": "breton",
    "eu": "basque",
    "is": "icelandic",
    "hy": "armenian",
    "ne": "nepali",
    "mn": "mongolian",
    "bs": "bosnian",
    "kk": "kazakh",
    "sq": "albanian",
    "sw": "swahili",
    "gl": "galician",
    "mr": "marathi",
    "pa": "punjabi",
    "si": "sinhala",
    "km": "khmer",
    "sn": "shona",
    "yo": "yoruba",
    "so": "somali",
    "af": "afrikaans",
    "oc": "occitan",
    "ka": "georgian",
    "be": "belarusian",
    "tg": "tajik",
    "sd": "sindhi",
    "gu": "gujarati",
    "am": "amharic",
    "yi": "yiddish",
    "lo": "lao",
    "uz": "uzbek",
    "fo": "faroese",
    "ht": "haitian creole",
    "ps": "pashto",
    "tk": "turkmen",
    "nn": "nynorsk",
    "mt": "maltese",
    "sa": "sanskrit",
    "lb": "luxembourgish",
    "my": "myanmar",
    "bo": "tibetan",
    "tl": "tagalog",
    "mg": "malagasy",
    "as": "assamese",
    "tt": "tatar",
    "haw": "hawaiian",
    "ln": "lingala",
    "ha": "hausa",
    "ba": "bashkir",
    "jw": "javanese",
    "su": "sundanese",
    "yue": "cantonese",
}

# Other names Whisper accepts for a language (its ``TO_LANGUAGE_CODE`` extras).
_NAME_ALIASES: Final[dict[str, str]] = {
    "burmese": "my",
    "valencian": "ca",
    "flemish": "nl",
    "haitian": "ht",
    "letzeburgesch": "lb",
    "pushto": "ps",
    "panjabi": "pa",
    "moldavian": "ro",
    "moldovan": "ro",
    "sinhalese": "si",
    "castilian": "es",
    "mandarin": "zh",
}

# Codes other tools use for a language Whisper spells differently.
_CODE_ALIASES: Final[dict[str, str]] = {
    "jv": "jw",  # ISO-639-1 Javanese
    "iw": "he",  # deprecated Hebrew
    "in": "id",  # deprecated Indonesian
    "ji": "yi",  # deprecated Yiddish
    "nb": "no",  # Norwegian Bokmål
}

_CODES_BY_NAME: Final[dict[str, str]] = {
    **{name: code for code, name in LANGUAGES.items()},
    **_NAME_ALIASES,
}


def language_code(name_or_code: str) -> str | None:
    """The Whisper code for a code, a name or a BCP-47 tag (``"en-US"``); ``None`` if unknown.

    Matching ignores case and surrounding spaces.
    """
    key = name_or_code.strip().lower()
    if key in LANGUAGES:
        return key
    if key in _CODE_ALIASES:
        return _CODE_ALIASES[key]
    if key in _CODES_BY_NAME:
        return _CODES_BY_NAME[key]
    primary = key.replace("_", "-").split("-", 1)[0]
    if primary != key:
        return language_code(primary)
    return None


def language_name(code: str) -> str:
    """The lowercase English name for ``code``, as ``verbose_json`` prints it.

    A value that already is a name (``"English"``) comes back lowercased; a value we do not
    know comes back unchanged, so a provider's unusual answer is passed on rather than lost.
    """
    key = code.strip().lower()
    if key in _CODES_BY_NAME:
        return key
    resolved = language_code(key)
    return code if resolved is None else LANGUAGES[resolved]
