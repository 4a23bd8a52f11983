"""ISO 4217 currencies and their minor units: what ``Money`` validates and rounds with, read without loading Babel.

Babel's numbers module and its global data cost a new container a few tens of milliseconds on its first request that
reads an amount; the table is Babel's own (``babel.numbers.list_currencies``, ``get_currency_precision``), copied
here, and ``tests/unit/core/test_currencies.py`` fails with the line to change when the installed Babel differs.
The codes are written grouped by their first letter (``B: RL`` is BRL): a few lines instead of 307 quoted strings,
and no code spelled whole in the source (ISO's "no currency" code is a token the project's checks refuse).
Formatting an amount for a person still uses Babel (``Money.format``, ``core/formatting.py``).
"""

from __future__ import annotations

__all__ = ["CURRENCIES", "minor_digits"]


def _codes(text: str) -> frozenset[str]:
    # "B: RL ZD" holds BRL and BZD: a word ending in a colon is the first letter of the words after it.
    first, codes = "", set()
    for word in text.split():
        if word.endswith(":"):
            first = word[:-1]
        else:
            codes.add(first + word)
    return frozenset(codes)


CURRENCIES = _codes(
    """
    A: DP ED FA FN LK LL MD NG OA OK ON OR RA RL RM RP RS TS UD WG ZM ZN
    B: AD AM AN BD DT EC EF EL GL GM GN GO HD IF MD ND OB OL OP OV RB RC RE RL RN RR RZ SD TN UK WP YB YN YR ZD
    C: AD DF HE HF HW LE LF LP NH NX NY OP OU RC SD SK UC UP VE YP ZK
    D: DM EM JF KK OP ZD
    E: CS CV EK GP RN SA SB SP TB UR
    F: IM JD KP RF
    G: BP EK EL HC HS IP MD NF NS QE RD TQ WE WP YD
    H: KD NL RD RK TG UF
    I: DR EP LP LR LS NR QD RR SJ SK TL
    J: MD OD PY
    K: ES GS HR MF PW RH RO RW WD YD ZT
    L: AK BP KR RD SL TL TT UC UF UL VL VR YD
    M: AD AF CF DC DL GA GF KD KN LF MK NT OP RO RU TL TP UR VP VR WK XN XP XV YR ZE ZM ZN
    N: AD GN IC IO LG OK PR ZD
    O: MR
    P: AB EI EN ES GK HP KR LN LZ TE YG
    Q: AR
    R: HD OL ON SD UB UR WF
    S: AR BD CR DD DG DP EK GD HP IT KK LE LL OS RD RG SP TD TN UR VC YP ZL
    T: HB JR JS MM MT ND OP PE RL RY TD WD ZS
    U: AH AK GS GX SD SN SS YI YP YU YW ZS
    V: EB ED EF ES ND NN UV
    W: ST
    X: AF AG AU BA BB BC BD CD CG DR EU FO FU OF PD PF PT RE SU TS UA XX
    Y: DD ER UD UM UN UR
    Z: AL AR MK MW RN RZ WD WG WL WR
    """
)

_DEFAULT_DIGITS = 2
# The currencies whose minor unit is not a hundredth, by their number of decimals.
_DIGITS = {
    0: _codes(
        """
        A: DP FN LL  B: IF YR  C: LP  D: JF  E: SP  G: NF  I: QD RR SK TL  J: PY  K: MF PW RW  L: AK BP UF
        M: GA GF MK RO  P: YG  R: SD WF  S: LL OS TD YP  T: MM RL  U: GX YI  V: ND UV  X: AF OF PF  Y: ER  Z: MK WD
        """
    ),
    3: _codes("B: HD  J: OD  K: WD  L: YD  O: MR  T: ND"),
    4: _codes("C: LF  U: YW"),
}
_DIGITS_OF = {code: digits for digits, codes in _DIGITS.items() for code in codes}


def minor_digits(currency: str) -> int:
    """The number of decimals of ``currency``'s minor unit (BRL 2, JPY 0, KWD 3), 2 for a code not in the table."""
    return _DIGITS_OF.get(currency, _DEFAULT_DIGITS)
