/*
 * hex: one hexadecimal digit's value, for the decoders that meet them
 * (percent-encoding, otpauth secrets).
 */
#ifndef IDP_HEX_H
#define IDP_HEX_H

/* The value of c as a hex digit (either case), or -1. */
static inline int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
