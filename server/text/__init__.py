"""The text front end (pure Python, no torch): what a request's text becomes before the model sees it.

- normalize/   spoken forms of numbers, dates, money, units, abbreviations (English, Russian); AUTO/ON/OFF
- sentences.py sentence boundaries: our candidate rules, decided left to right with bounded lookahead
- splitters.py the splitters that judge candidates (sentencex; razdel for Russian)
- brackets.py  bracket and quote depth (no boundary inside them)
- segment.py   segments for synthesis: sentences grouped to a budget, a quick first segment, and the
               IncrementalSegmenter for text that arrives token by token
"""
