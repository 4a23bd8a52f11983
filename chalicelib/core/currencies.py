"""ISO 4217 currencies and their minor units: what ``Money`` validates and rounds with, read without loading Babel.

Babel's numbers module and its global data cost a new container a few tens of milliseconds on its first request that
reads an amount; the table is Babel's own (``babel.numbers.list_currencies``, ``get_currency_precision``), copied
here, and ``tests/unit/core/test_currencies.py`` fails with the line to change when the installed Babel differs.
Formatting an amount for a person still uses Babel (``Money.format``, ``core/formatting.py``).
"""

from __future__ import annotations

__all__ = ["CURRENCIES", "minor_digits"]


def _codes(text: str) -> frozenset[str]:
    # Codes written as words, several to a line: a list of 307 quoted strings would be 307 lines once formatted.
    return frozenset(text.split())


CURRENCIES = _codes(
    """
    ADP AED AFA AFN ALK ALL AMD ANG AOA AOK AON AOR ARA ARL ARM ARP ARS ATS AUD AWG AZM AZN BAD BAM BAN BBD BDT
    BEC BEF BEL BGL BGM BGN BGO BHD BIF BMD BND BOB BOL BOP BOV BRB BRC BRE BRL BRN BRR BRZ BSD BTN BUK BWP BYB
    BYN BYR BZD CAD CDF CHE CHF CHW CLE CLF CLP CNH CNX CNY COP COU CRC CSD CSK CUC CUP CVE CYP CZK DDM DEM DJF
    DKK DOP DZD ECS ECV EEK EGP ERN ESA ESB ESP ETB EUR FIM FJD FKP FRF GBP GEK GEL GHC GHS GIP GMD GNF GNS GQE
    GRD GTQ GWE GWP GYD HKD HNL HRD HRK HTG HUF IDR IEP ILP ILR ILS INR IQD IRR ISJ ISK ITL JMD JOD JPY KES KGS
    KHR KMF KPW KRH KRO KRW KWD KYD KZT LAK LBP LKR LRD LSL LTL LTT LUC LUF LUL LVL LVR LYD MAD MAF MCF MDC MDL
    MGA MGF MKD MKN MLF MMK MNT MOP MRO MRU MTL MTP MUR MVP MVR MWK MXN MXP MXV MYR MZE MZM MZN NAD NGN NIC NIO
    NLG NOK NPR NZD OMR PAB PEI PEN PES PGK PHP PKR PLN PLZ PTE PYG QAR RHD ROL RON RSD RUB RUR RWF SAR SBD SCR
    SDD SDG SDP SEK SGD SHP SIT SKK SLE SLL SOS SRD SRG SSP STD STN SUR SVC SYP SZL THB TJR TJS TMM TMT TND TOP
    TPE TRL TRY TTD TWD TZS UAH UAK UGS UGX USD USN USS UYI UYP UYU UYW UZS VEB VED VEF VES VND VNN VUV WST XAF
    XAG XAU XBA XBB XBC XBD XCD XCG XDR XEU XFO XFU XOF XPD XPF XPT XRE XSU XTS XUA XXX YDD YER YUD YUM YUN YUR
    ZAL ZAR ZMK ZMW ZRN ZRZ ZWD ZWG ZWL ZWR
    """
)

_DEFAULT_DIGITS = 2
# The currencies whose minor unit is not a hundredth, by their number of decimals.
_DIGITS = {
    0: _codes(
        """
        ADP AFN ALL BIF BYR CLP DJF ESP GNF IQD IRR ISK ITL JPY KMF KPW KRW LAK LBP LUF MGA MGF MMK MRO PYG RSD
        RWF SLL SOS STD SYP TMM TRL UGX UYI VND VUV XAF XOF XPF YER ZMK ZWD
        """
    ),
    3: _codes("BHD JOD KWD LYD OMR TND"),
    4: _codes("CLF UYW"),
}
_DIGITS_OF = {code: digits for digits, codes in _DIGITS.items() for code in codes}


def minor_digits(currency: str) -> int:
    """The number of decimals of ``currency``'s minor unit (BRL 2, JPY 0, KWD 3), 2 for a code not in the table."""
    return _DIGITS_OF.get(currency, _DEFAULT_DIGITS)
