/**
 * The public key AWS signs the SSM agent's Debian packages with, kept here so a host checks the
 * package it downloads against a key it did not download alongside it.
 *
 * Sources (the same key in both):
 * - AWS Systems Manager User Guide, "Verifying the signature of SSM Agent"
 *   (https://docs.aws.amazon.com/systems-manager/latest/userguide/verify-agent-signature.html):
 *   signature files next to the packages (`.../debian_amd64/amazon-ssm-agent.deb.sig`), key
 *   fingerprint DE92 C7DA 3E56 E923 31D6 2A36 BC1F 495C 97DD 04ED.
 * - aws/amazon-ssm-agent, Tools/src/setupcli_data_integrity_linux.sh (mainline), which embeds
 *   the armored key.
 *
 * This copy's self-signature expires 2025-02-17; AWS extends the key's validity by publishing it
 * again. gpgv does not judge expiry: checked here (gpgv 2.2.40) with a key exported before its
 * expiry was extended and a signature made after the old expiry, which it still accepted.
 * test/templates/ssm-agent-signature.test.ts holds the fingerprint of the key below.
 */

/** Primary key fingerprint (40 hex digits). */
export const SSM_AGENT_SIGNING_KEY_FINGERPRINT = "DE92C7DA3E56E92331D62A36BC1F495C97DD04ED";

/** The key, ASCII-armored, as AWS publishes it. */
export const SSM_AGENT_SIGNING_KEY = `-----BEGIN PGP PUBLIC KEY BLOCK-----

mQENBGTtIoIBCAD2M1aoGIE0FXynAHM/jtuvdAVVaX3Q4ZejTqrX+Jq8ElAMhxyO
GzHu2CDtCYxtVxXK3unptLVt2kGgJwNbhYC393jDeZx5dCda4Nk2YXX1UK3P461i
axuuXRzMYvfM4RZn+7bJTu635tA07q9Xm6MGD4TCTvsjBfViOxbrxOg5ozWbJdSw
fSR8MwUrRfmFpAefRlYfCEuZ8FHywa9U6jLeWt2O/kqrZliJOAGjGzXtB7EZkqKb
faCCxikjjvhF1awdEqSK4DQorC/OvQc4I5kP5y2CJbtXvXO73QH2yE75JMDIIx9x
rOsIRUoSfK3UrWaOVuAnEEn5ueKzZNqGG1J1ABEBAAG0J1NTTSBBZ2VudCA8c3Nt
LWFnZW50LXNpZ25lckBhbWF6b24uY29tPokBPwQTAQIAKQUCZO0iggIbLwUJAsaY
gAcLCQgHAwIBBhUIAgkKCwQWAgMBAh4BAheAAAoJELwfSVyX3QTt+icH/A//tJsW
I+7Ay8FGJh8dJPNy++HIBjVSFdGNJFWNbw1Z8uZcazHEcUCH3FhW4CLQLTZ3OVPz
qvFwzDtRDVIN/Y9EGDhLMFvimrE+/z4olWsJ5DANf6BnX8I5UNIcRt5d8SWH1BEJ
2FWIBZFgKyTDI6XzRC5x4ahtgpOVAGeeKDehs+wh6Ga4W0/K4GsviP1Kyr+Ic2br
NAIq0q0IHyN1q9zam3Y0+jKwEuNmTj+Bjyzshyv/X8S0JWWoXJhkexkOvWeBYNNt
5wI4QcSteyfIzp6KlQF8q11Hzz9D9WaPfcBEYyhq7vLEARobkbQMBzpkmaZua241
0RaWG50HRvrgm4aJAhwEEAECAAYFAmTtIoMACgkQfdCXo9rX9fwwqBAAzkTgYJ38
sWgxpn7Ux/81F2BWR1sVkmP79i++fXyJlKI8xtcJFQZhzeUos69KBUCy7mgx5bYU
P7NA5o9DUbwz/QS0i1Cqm4+jtFlX0MXe4FikXcqfDPnnzN8mVB2H+fa43iHR1PuH
GgUWuNdxzSoIYRmLZXWmeN5YXPcmixlhLzcE2TOQn1mOKcu2fKdLtBQ8KiEkmjiu
naoLxnUcyk1zMhaha+LzEkQdOyasix0ggylN2ViWVnlmfy0niuXDxW0qZWPdLStF
OODiX3iqGmkH3rDfy6nvxxBR4GIs+MGD72fpWzzrINDgkGI2i2t1+0AX/mps3aTy
+ftlgrim8stYWB58XXDAb0vad06sNye5/zDzfr0I9HupJrTzFhaYJQjWPaSlINto
LDJnBXohiUIPRYRcy/k012oFHDWZHT3H6CyjK9UD5UlxA9H7dsJurANs6FOVRe+7
34uJyxDZ/W7zLG4AVG0zxibrUSoaJxwcOjVPVsQAlrwG/GTs7tcAccsJqbJ1Py/w
9AgJl8VU2qc8POsHNXk348gjP7C8PDnGMpZFzr9f5INctRushpiv7onX+aWJVX7T
n2uX/TP3LCyH/MsrNJrJOQnMYFRLQitciP0E+F+eA3v9CY6mDuyb8JSx5HuGGUsG
S4bKBOcA8vimEpwPoT8CE7fdsZ3Qkwdu+pw=
=zr5w
-----END PGP PUBLIC KEY BLOCK-----
`;

/**
 * The base64 body of an armored key (the binary key gpgv reads, once decoded), one line per
 * armor line; throws unless `armored` is one armored public key block.
 */
export function armoredKeyBody(armored: string): string[] {
    const lines = armored.trim().split("\n");
    const begin = lines.indexOf("-----BEGIN PGP PUBLIC KEY BLOCK-----");
    const end = lines.indexOf("-----END PGP PUBLIC KEY BLOCK-----");
    if (begin !== 0 || end !== lines.length - 1) {
        throw new Error("signing key: not one ASCII-armored PGP public key block");
    }
    // Armor headers end at the first empty line; the last body line is the CRC-24 (=xxxx).
    const blank = lines.indexOf("", begin);
    const body = lines.slice(blank + 1, end).filter((line) => !line.startsWith("="));
    if (blank < 0 || body.length === 0 || !body.every((line) => /^[A-Za-z0-9+/=]+$/.test(line))) {
        throw new Error("signing key: the armored block has no base64 body");
    }
    return body;
}
