"""Golden tests of English normalization: each case is the exact string a native reader would say."""

from __future__ import annotations

import pytest

from server.text.normalize import normalize

CASES = [
    # cardinals
    ("I have 42 pears.", "I have forty-two pears."),
    ("I have 1,500 apples.", "I have one thousand five hundred apples."),
    ("Population: 8,100,000,000.", "Population: eight billion one hundred million."),
    ("1,000,000 and 007", "one million and zero zero seven"),
    ("There were 2025 people.", "There were two thousand twenty-five people."),
    ("Temperature dropped to -5.", "Temperature dropped to minus five."),
    ("Over 9000!", "Over nine thousand!"),
    ("A 3D film and MP3 files.", "A three D film and MP three files."),
    # ordinals
    ("He came 1st and she came 22nd.", "He came first and she came twenty-second."),
    ("the 21st century", "the twenty-first century"),
    ("It was his 103rd game.", "It was his one hundred third game."),
    # decimals
    ("Pi is 3.14.", "Pi is three point one four."),
    ("Only 0.05 left.", "Only zero point zero five left."),
    ("Version 2.0 came out.", "Version two point zero came out."),
    # fractions
    ("Add 1/2 cup.", "Add one half cup."),
    ("It is 3/4 full.", "It is three quarters full."),
    ("About 2/3 agreed.", "About two thirds agreed."),
    ("Use 5/8 of it.", "Use five eighths of it."),
    ("Add 2 1/2 cups.", "Add two and a half cups."),
    ("Open 24/7.", "Open twenty-four seven."),
    # percentages
    ("Growth was 50%.", "Growth was fifty percent."),
    ("Rates hit 3.5%.", "Rates hit three point five percent."),
    ("It will be 10–20% cheaper.", "It will be ten to twenty percent cheaper."),
    # ranges
    ("Read pages 10-20.", "Read pages ten to twenty."),
    ("It lasted 1990–2000.", "It lasted nineteen ninety to two thousand."),
    ("Wait 5 - 10 minutes.", "Wait five to ten minutes."),
    # currency
    ("It costs $5.30.", "It costs five dollars and thirty cents."),
    ("It costs €1,200.", "It costs one thousand two hundred euros."),
    ("They paid £3m for it.", "They paid three million pounds for it."),
    ("It costs 1 500 ₽.", "It costs one thousand five hundred rubles."),
    ("Revenue was $5.3 billion.", "Revenue was five point three billion dollars."),
    ("Only $1 today.", "Only one dollar today."),
    ("Just $0.99!", "Just ninety-nine cents!"),
    ("I paid $1.01.", "I paid one dollar and one cent."),
    ("Tickets are $5–10.", "Tickets are five to ten dollars."),
    ("Pay 20 USD now.", "Pay twenty dollars now."),
    ("It was 50p, not £1.50.", "It was fifty pence, not one pound and fifty pence."),
    # dates
    ("The date is 12/03/2025.", "The date is December third, twenty twenty-five."),
    ("Due 25/12/2025.", "Due December twenty-fifth, twenty twenty-five."),
    ("The date is 2025-03-12.", "The date is March twelfth, twenty twenty-five."),
    ("The date is 12.03.2025.", "The date is March twelfth, twenty twenty-five."),
    ("See you on March 3rd.", "See you on March third."),
    ("See you on March 3, 2025.", "See you on March third, twenty twenty-five."),
    ("Born on 3 March 2025.", "Born on the third of March, twenty twenty-five."),
    ("On Jan. 5 we left.", "On January fifth we left."),
    # times
    ("The meeting is at 14:30.", "The meeting is at fourteen thirty."),
    ("Meet at 2:30 pm.", "Meet at two thirty P M."),
    ("Meet at 7 a.m.", "Meet at seven A M."),
    ("Meet at 7 a.m. tomorrow.", "Meet at seven A M tomorrow."),
    ("Meet at 10:00.", "Meet at ten o'clock."),
    ("Meet at 9:05.", "Meet at nine oh five."),
    ("Lights out at 22:00.", "Lights out at twenty-two hundred."),
    ("A ratio of 16:9.", "A ratio of sixteen to nine."),
    # years and decades
    ("It was in 1999.", "It was in nineteen ninety-nine."),
    ("Since 2008, prices rose.", "Since two thousand eight, prices rose."),
    ("Born in 1066.", "Born in ten sixty-six."),
    ("From 1990 to 2000.", "From nineteen ninety to two thousand."),
    ("In 2025 we had 2025 guests.", "In twenty twenty-five we had two thousand twenty-five guests."),
    ("Back in March 2020.", "Back in March twenty twenty."),
    ("In the 1990s.", "In the nineteen nineties."),
    ("Back in the '80s.", "Back in the eighties."),
    ("The 2000s and the 1800s.", "The two thousands and the eighteen hundreds."),
    ("In the mid-1990s.", "In the mid-nineteen nineties."),
    # phone numbers
    ("Call +1 (555) 123-4567.", "Call plus one, five five five, one two three, four five six seven."),
    ("Call 555-123-4567.", "Call five five five, one two three, four five six seven."),
    ("Call +44 20 7946 0958.", "Call plus four four, two zero, seven nine four six, zero nine five eight."),
    # units
    ("Drive 60 km/h for 5 km.", "Drive sixty kilometers per hour for five kilometers."),
    ("It weighs 1 kg.", "It weighs one kilogram."),
    ("It weighs 2.5 kg.", "It weighs two point five kilograms."),
    ("It is 25°C outside.", "It is twenty-five degrees Celsius outside."),
    ("It is -5 °F.", "It is minus five degrees Fahrenheit."),
    ("He ran 100 m in 9.58 s.", "He ran one hundred meters in nine point five eight seconds."),
    ("At 3.5 GHz with 16 GB.", "At three point five gigahertz with sixteen gigabytes."),
    ("Turn 90° left.", "Turn ninety degrees left."),
    # abbreviations
    ("Dr. Smith lives on Elm St.", "Doctor Smith lives on Elm Street."),
    ("He lives on Main St. in St. Louis.", "He lives on Main Street in Saint Louis."),
    ("Meet Dr. Smith.", "Meet Doctor Smith."),
    ("Mr. and Mrs. Jones came.", "Mister and Missus Jones came."),
    ("Fruits, e.g. apples, i.e. food, etc.", "Fruits, for example apples, that is food, et cetera."),
    ("Fruits etc. Then more.", "Fruits et cetera. Then more."),
    ("Item No. 5 is #1.", "Item number five is number one."),
    ("It was approx. 5 km.", "It was approximately five kilometers."),
    ("Rock & roll", "Rock and roll"),
    # Roman numerals
    ("Louis XIV and Henry VIII ruled.", "Louis the fourteenth and Henry the eighth ruled."),
    ("Elizabeth II died in 2022.", "Elizabeth the second died in twenty twenty-two."),
    ("The XIX century.", "The nineteenth century."),
    ("World War II and Chapter IV.", "World War two and Chapter four."),
    ("Then I went home.", "Then I went home."),
    # e-mail addresses and URLs
    ("Email john.doe@example.com now.", "Email john dot doe at example dot com now."),
    (
        "Visit https://www.example.com/path-1 today.",
        "Visit www dot example dot com slash path dash one today.",
    ),
    ("Visit example.com.", "Visit example dot com."),
]


@pytest.mark.parametrize(("written", "spoken"), CASES, ids=[c[0] for c in CASES])
def test_golden(written: str, spoken: str) -> None:
    assert normalize(written, "english") == spoken


def test_enough_golden_cases() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize(
    "text",
    ["Hi 😀 there ☃!", "Price ¤ 5 ™ ©", "Ω λ → ∞ ★ ♪", "a\tb\n\nc  d", "Zürich, café, naïve"],
)
def test_characters_it_does_not_verbalize_stay(text: str) -> None:
    spoken = normalize(text, "english")
    for char in text:
        if not (char.isdigit() or char.isspace()):
            assert char in spoken, f"{char!r} dropped from {text!r}: {spoken!r}"


def test_text_without_numbers_or_abbreviations_is_unchanged() -> None:
    text = 'Plain words, with punctuation; quotes "here" and (brackets)!\nNew line.'
    assert normalize(text, "english") == text
