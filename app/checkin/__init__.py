"""Party-mass service centers, their rotating and printed QR codes, and check-ins."""
