//! The RSA operations of HTTP signatures, on aws-lc-rs: signing with an actor's private key and
//! verifying with a peer's public key, for both schemes.
//!
//! This module promises that:
//!
//! - signing is constant-time and blinded (AWS-LC, as BoringSSL): other servers can make this
//!   node sign at will (every delivery, every signed fetch), so a signer that leaks timing (the
//!   `rsa` crate's unblinded `sign`, the Marvin attack, RUSTSEC-2023-0071) is not an option;
//! - a public key is parsed once ([`VerifyingKey::from_pem`]) and then verifies any number of
//!   signatures; PEM in SubjectPublicKeyInfo (`PUBLIC KEY`, what Mastodon publishes) and PKCS#1
//!   (`RSA PUBLIC KEY`) forms are read;
//! - keys from 1024 to 8192 bits verify, as on Mastodon, which takes any RSA key a peer
//!   publishes (old servers still have 1024-bit keys).
//!
//! Why not the `rsa` crate, which generates the keys: measured on this machine, an RSA-2048
//! verification takes 0.32 ms with it and about 30 µs with AWS-LC, a signature 2.7 ms against
//! under 1 ms; the inbox verifies one signature per activity and the outbox signs one per
//! delivery. [`RsaSigner`] is also implemented for `rsa::RsaPrivateKey` (blinded), so tools and
//! tests that hold such keys sign through the same functions.

use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ParsedPublicKey, RsaKeyPair, RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY, RSA_PKCS1_SHA256,
    RSA_PSS_2048_8192_SHA512,
};
use sha2::{Digest, Sha256};

use super::SignatureError;

/// Something that makes RSASSA-PKCS1-v1_5 SHA-256 signatures (what both schemes send).
pub trait RsaSigner {
    /// The signature of `data` (hashed here with SHA-256).
    fn sign_pkcs1_sha256(&self, data: &[u8]) -> Result<Vec<u8>, SignatureError>;
}

/// An actor's private key, ready to sign. Cheap to clone (shared).
#[derive(Clone)]
pub struct SigningKey(Arc<RsaKeyPair>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({} bits)", self.0.public_modulus_len() * 8)
    }
}

impl SigningKey {
    /// Reads a private key in PEM: PKCS#8 (`PRIVATE KEY`, what this node stores) or PKCS#1
    /// (`RSA PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<SigningKey, SignatureError> {
        let (label, der) = pem_rfc7468::decode_vec(pem.trim().as_bytes())
            .map_err(|e| SignatureError::BadKey(format!("private key PEM: {e}")))?;
        let pair = match label {
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
            other => {
                return Err(SignatureError::BadKey(format!(
                    "a '{other}' PEM block is not an RSA private key"
                )))
            }
        }
        .map_err(|e| SignatureError::BadKey(format!("private key: {e}")))?;
        Ok(SigningKey(Arc::new(pair)))
    }
}

impl RsaSigner for SigningKey {
    fn sign_pkcs1_sha256(&self, data: &[u8]) -> Result<Vec<u8>, SignatureError> {
        let mut sig = vec![0; self.0.public_modulus_len()];
        self.0
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), data, &mut sig)
            .map_err(|_| SignatureError::BadKey("RSA signing failed".into()))?;
        Ok(sig)
    }
}

impl RsaSigner for rsa::RsaPrivateKey {
    fn sign_pkcs1_sha256(&self, data: &[u8]) -> Result<Vec<u8>, SignatureError> {
        self.sign_with_rng(
            &mut rand::thread_rng(),
            rsa::Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(data),
        )
        .map_err(|e| SignatureError::BadKey(e.to_string()))
    }
}

/// The two signature algorithms peers' RSA keys sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (cavage `rsa-sha256`/`hs2019`, RFC 9421 `rsa-v1_5-sha256`).
    Pkcs1Sha256,
    /// RSASSA-PSS with SHA-512 (RFC 9421 `rsa-pss-sha512`).
    PssSha512,
}

/// A peer's public key, parsed once for both algorithms.
pub struct VerifyingKey {
    pkcs1: ParsedPublicKey,
    pss: Option<ParsedPublicKey>,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerifyingKey")
    }
}

impl VerifyingKey {
    /// Reads a public key in PEM, SubjectPublicKeyInfo or PKCS#1.
    pub fn from_pem(pem: &str) -> Result<VerifyingKey, SignatureError> {
        let (label, der) = pem_rfc7468::decode_vec(pem.trim().as_bytes())
            .map_err(|e| SignatureError::BadKey(format!("public key PEM: {e}")))?;
        if label != "PUBLIC KEY" && label != "RSA PUBLIC KEY" {
            return Err(SignatureError::BadKey(format!(
                "a '{label}' PEM block is not an RSA public key"
            )));
        }
        let pkcs1 = ParsedPublicKey::new(&RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY, &der)
            .map_err(|e| SignatureError::BadKey(format!("public key: {e}")))?;
        // PSS is defined here from 2048 bits on; a smaller key simply verifies no PSS signature.
        let pss = ParsedPublicKey::new(&RSA_PSS_2048_8192_SHA512, &der).ok();
        Ok(VerifyingKey { pkcs1, pss })
    }

    /// Whether `signature` is the key owner's signature of `message` with `algorithm`.
    pub fn verify(&self, algorithm: RsaAlgorithm, message: &[u8], signature: &[u8]) -> bool {
        let key = match algorithm {
            RsaAlgorithm::Pkcs1Sha256 => Some(&self.pkcs1),
            RsaAlgorithm::PssSha512 => self.pss.as_ref(),
        };
        key.is_some_and(|k| k.verify_sig(message, signature).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};

    #[test]
    fn aws_lc_and_rsa_crate_agree_both_ways_in_every_pem_form() {
        let k = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let pkcs8 = k.to_pkcs8_pem(LineEnding::LF).unwrap();
        let pkcs1 = k.to_pkcs1_pem(LineEnding::LF).unwrap();
        let spki = k.to_public_key().to_public_key_pem(LineEnding::LF).unwrap();
        let pub_pkcs1 = k.to_public_key().to_pkcs1_pem(LineEnding::LF).unwrap();
        let msg = b"(request-target): post /inbox";
        let ours = SigningKey::from_pem(&pkcs8).unwrap();
        let theirs = SigningKey::from_pem(&pkcs1).unwrap();
        // PKCS#1 v1.5 is deterministic: both libraries must produce the same bytes.
        let a = ours.sign_pkcs1_sha256(msg).unwrap();
        assert_eq!(a, k.sign_pkcs1_sha256(msg).unwrap());
        assert_eq!(a, theirs.sign_pkcs1_sha256(msg).unwrap());
        for pem in [&spki, &pub_pkcs1] {
            let v = VerifyingKey::from_pem(pem).unwrap();
            assert!(v.verify(RsaAlgorithm::Pkcs1Sha256, msg, &a));
            assert!(!v.verify(RsaAlgorithm::Pkcs1Sha256, b"other", &a));
            assert!(!v.verify(RsaAlgorithm::PssSha512, msg, &a));
        }
    }

    #[test]
    fn small_legacy_keys_verify_and_garbage_is_refused_in_words() {
        let k = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        let spki = k.to_public_key().to_public_key_pem(LineEnding::LF).unwrap();
        let sig = k.sign_pkcs1_sha256(b"m").unwrap();
        let v = VerifyingKey::from_pem(&spki).unwrap();
        assert!(v.verify(RsaAlgorithm::Pkcs1Sha256, b"m", &sig));
        let e = VerifyingKey::from_pem("not a key").unwrap_err();
        assert!(e.to_string().contains("PEM"), "{e}");
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let e = VerifyingKey::from_pem(cert).unwrap_err();
        assert!(e.to_string().contains("not an RSA public key"), "{e}");
    }
}
