"""The text front end (pure Python, no torch): what a request's text becomes before the model sees it.

- normalize/   spoken forms of numbers, dates, money, units, abbreviations (English, Russian); AUTO/ON/OFF
- sentences.py sentence boundaries (sentencex; razdel for Russian) behind our own candidate rules
- segment.py   segments for synthesis: sentences grouped to a budget, a quick first segment, and the
               IncrementalSegmenter for text that arrives token by token
"""
