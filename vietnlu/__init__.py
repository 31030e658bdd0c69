"""Vietnamese text handling for the assistant: folding, teencode lexicon, risk assessment.

`text`, `lexicon`, `risk` and `augment` are pure Python so both the Rasa environment and the
gateway can use them; `components` holds the Rasa graph components and imports rasa.
"""
