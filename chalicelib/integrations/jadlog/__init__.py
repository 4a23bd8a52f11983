"""JadLog (Embarcador API): the client shipping uses."""
