"""Built-in multilingual training text for the random checkpoints' byte-level BPE.

The text tokenizer of a random checkpoint only has to behave like the real Qwen2 tokenizer structurally
(byte-level BPE, Qwen2 split regex, special tokens at the real ids, single-token role words), so a few hundred
words per language are enough. The sentences are original; they cover the ten languages the released
checkpoints list, plus the chat-template words ("assistant", "user") and newline runs the prompt templates
rely on.
"""

from __future__ import annotations

# Role words and newline runs are repeated so that the trainer merges them into single tokens, as in the real
# vocabulary ("assistant", "user", "\n\n").
TEMPLATE_LINES: tuple[str, ...] = (
    "assistant\n",
    "user\n",
    "assistant\nuser\n\n",
    "system\n",
)
TEMPLATE_REPEAT = 64

SENTENCES: tuple[str, ...] = (
    # English
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Please read the following sentence slowly and clearly, with a calm voice.",
    "It's a beautiful morning; the birds are singing and the coffee is ready.",
    "We'll meet at the station at half past seven, don't be late!",
    "Numbers like 12, 345 and 2026 should be spoken naturally.",
    "She asked whether the weather would stay sunny for the whole weekend.",
    "Speech synthesis turns written text into natural sounding audio.",
    "Hello, how are you today? I hope everything is going well.",
    "The assistant answered the user's question with a short and friendly reply.",
    "Thank you very much for listening, and have a wonderful evening.",
    # Chinese
    "今天天气很好，我们一起去公园散步吧。",
    "请用温柔的声音朗读下面这段文字。",
    "语音合成技术可以把文字转换成自然的声音。",
    "他昨天晚上在图书馆看了三个小时的书。",
    "这家餐厅的菜非常好吃，价格也很便宜。",
    "你好，很高兴认识你，欢迎来到北京。",
    "我们明天早上八点在火车站见面。",
    "学习一门新的语言需要耐心和时间。",
    # Japanese
    "今日はとても良い天気ですね。散歩に行きましょう。",
    "次の文章をゆっくりと読んでください。",
    "音声合成は文字を自然な声に変える技術です。",
    "東京駅で友達と待ち合わせをしています。",
    "ありがとうございます。また明日お会いしましょう。",
    "このラーメンはとても美味しいです。",
    # Korean
    "오늘은 날씨가 정말 좋네요. 같이 산책하러 갈까요?",
    "다음 문장을 천천히 또박또박 읽어 주세요.",
    "음성 합성은 글을 자연스러운 목소리로 바꾸는 기술입니다.",
    "내일 아침 여덟 시에 역 앞에서 만나요.",
    "감사합니다. 좋은 하루 보내세요.",
    # German
    "Heute ist ein wunderschöner Tag, lass uns im Park spazieren gehen.",
    "Bitte lesen Sie den folgenden Satz langsam und deutlich vor.",
    "Die Sprachsynthese verwandelt geschriebenen Text in natürliche Sprache.",
    "Wir treffen uns morgen früh um acht Uhr am Bahnhof.",
    "Vielen Dank für Ihre Aufmerksamkeit und einen schönen Abend.",
    # French
    "Aujourd'hui, il fait très beau ; allons nous promener au parc.",
    "Veuillez lire la phrase suivante lentement et clairement.",
    "La synthèse vocale transforme le texte écrit en une voix naturelle.",
    "Nous nous retrouverons demain matin à huit heures à la gare.",
    "Merci beaucoup de votre attention et bonne soirée à tous.",
    # Spanish
    "Hoy hace un día precioso, vamos a pasear por el parque.",
    "Por favor, lea la siguiente frase despacio y con claridad.",
    "La síntesis de voz convierte el texto escrito en una voz natural.",
    "Nos vemos mañana a las ocho en la estación de tren.",
    "¡Muchas gracias por escuchar y que tengas una buena noche!",
    # Russian
    "Сегодня прекрасная погода, давайте погуляем в парке.",
    "Пожалуйста, прочитайте следующее предложение медленно и чётко.",
    "Синтез речи превращает письменный текст в естественный голос.",
    "Мы встретимся завтра в восемь утра на вокзале.",
    "Большое спасибо за внимание и хорошего вечера.",
    # Italian
    "Oggi è una giornata bellissima, andiamo a fare una passeggiata nel parco.",
    "Per favore, leggi la frase seguente lentamente e con chiarezza.",
    "La sintesi vocale trasforma il testo scritto in una voce naturale.",
    "Ci vediamo domani mattina alle otto alla stazione.",
    "Grazie mille per l'attenzione e buona serata.",
    # Portuguese
    "Hoje está um dia lindo, vamos passear no parque.",
    "Por favor, leia a frase seguinte devagar e com clareza.",
    "A síntese de voz transforma o texto escrito em uma voz natural.",
    "Nos encontramos amanhã às oito horas na estação de trem.",
    "Muito obrigado pela atenção e tenha uma ótima noite.",
)


def corpus() -> list[str]:
    """The training lines: every sentence once, then the template lines repeated."""
    return list(SENTENCES) + list(TEMPLATE_LINES) * TEMPLATE_REPEAT
