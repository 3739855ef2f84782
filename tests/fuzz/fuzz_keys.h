/*
 * fuzz_keys: fixed signing keys for the JWT and JWKS harnesses.
 *
 * TEST KEYS, PUBLIC ON PURPOSE: they sign nothing but fuzzing inputs.  Fixed
 * (not generated per run) so that committed seeds can carry tokens with
 * valid signatures and a crash found in one run replays in the next.
 * tests/fuzz/make_seeds.mjs reads the PEMs from this file.
 */
#ifndef IDP_FUZZ_KEYS_H
#define IDP_FUZZ_KEYS_H

#define FUZZ_RS256_KID "fuzz-rs256"
#define FUZZ_ES256_KID "fuzz-es256"

static const char fuzz_rs256_pem[] =
        "-----BEGIN PRIVATE KEY-----\n"
        "MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQCkjqJ4ryBI5pt2\n"
        "9KRKf9QbILAoALEfUpbRA068A0xnoF8SS+BkK3o7cnqe5C9df8JNf1CrKiPdOOb4\n"
        "MtMeH+XYK9OGWlOeJRwoTWYRSK7ExB2EMXRkT/g5gyn/AJP1Okj/Aq9mPurvY9mT\n"
        "G7Z+9cxPQlIqgv9QTandaSGCys+ZVTs5B3MyDgg8JXqV2L8bGbdf8TPk82zIA+ca\n"
        "f0DZcBdjtZa9Hh1azPM3s9LS9sbFRMzimOAjB66U/ynjsjlN0sQUpZ930UdP0uw2\n"
        "qad9q9VEyqYR0lvbu2m1/fZv4c1ToF4EWygjNu7EhcU1evPn2iwkyjn8w4X3vKo7\n"
        "g6OXKJ+hAgMBAAECggEAAcSUMMU64iWeGSCm4jOuM5i9477MKFi9Yjii9X34lGrC\n"
        "kreqImay17rStUHLfiQ+UhGn1srrWzf+XT9t3raQ2X9xCedkW2rX0FldMHAuNn11\n"
        "OWNu9hlDgq9VecCdFlGeZqT1/Zx37tiiW1mnyS86rHBQjICJ8ygpHBtCHv2u+Mf5\n"
        "81x9e3TfyncCQ3GMyFQTLLekDhTeUHhv5AdjLRd+6RD+4bnJ2Bpsu/RlD1c3B67B\n"
        "lOwCeDqJtpsSGO/31hjjWMoHdF2ZoaNihOGSoNaOYp+qY/sJs68u4K271XDGDfkb\n"
        "9H9XTUFFegyVU9NyXgPVPtSQpgw6iCGE3AMuVwdBwQKBgQDizA1aDhpuNK96JH6A\n"
        "zVjmWhQe6MFpEtsDNSCK4/4UeNkrg0RvCbH2I4RuzQEc91BnA6M4ui5fSFYHZCHg\n"
        "2yzSDKDoIfpg/y0sXneWdXtIiOTrMnEAwH45uFVtCE9nNJmLtrGm8yOk9EmCSu5g\n"
        "nkEubpU7qMXIjsnMl1XcQr/88QKBgQC5vvVeJtJVdZyUr1o4xdn2wrn8se3RaJev\n"
        "ZkDpmLonUJSBv7ZECROnll2ATEaMmk+vV8p0wM4uQElBCYYQvFDDhJBeWpObDjHj\n"
        "Qj2Tr2+kkygM3sziAncwORC7ZVnsKsisVGby/Oc9Va6/TFEOvcil9zzoxkPDZlMR\n"
        "7T8Sm7qNsQKBgQCTlKCjl0XPrOz7GEBRZE6TJs6tBlzFGQX3YlzYxF+TxsfarsKb\n"
        "Vr29I4OL7k7pIG3resx9n3mJezKwAJKjFTxnOtyB8YpSD/q/QoGjILOmkZ4VBm/O\n"
        "Q3Rf7vl3x86TpAC+j5Wuw8zQDD7BUC0qJhDYPBFUDxEU3wWl4lx2xeDUoQKBgQCm\n"
        "x4SPhnIjk9gFVTHAej5Mp+nRsH2mIrDYKAsu9BhpxpuhqN7iVfgU6RmJYnOSOdhE\n"
        "y6IYlSpMMyLTR9bd3gjylWv/nHqepe87bDXYDpVDA3LZo4/5e1dDsGmKqeVE/eFz\n"
        "gtFxao3C79VZJRA/GT85bjZ9l9AuegkqtoiEj9nA8QKBgQDV2LjE4gXXhuPdZw66\n"
        "y6lttNT9vLZg0KMvPFLPl+dW2XWjOH8A84FXRc4pv59Z0n19wOZoVURGpa61MZ6X\n"
        "gUQocTaF45Ij7ucA/Nf04HyyATbDVGLNnbFhSkKQS6QAthwv1lht7cvv9YNxPoYZ\n"
        "4co3OXoT34tg8tFZuVgkElbZDA==\n"
        "-----END PRIVATE KEY-----\n";

static const char fuzz_es256_pem[] =
        "-----BEGIN PRIVATE KEY-----\n"
        "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgBsJlCDmvDDM8nUSJ\n"
        "G2oU/KKWR+s5Jk/3mZqMz8Tr9aKhRANCAAQDYRkoz25v5vxgQSrSZ5Jxa3zwlXPN\n"
        "BFAnlakNW1eI5aUcDqfPnRdGEr3oiZv62JzrUC3FDtcqHPYcRKO1rsmy\n"
        "-----END PRIVATE KEY-----\n";

#endif
