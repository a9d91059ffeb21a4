-- Issuing (intermediate) CAs registered under a trusted root: a notified
-- certificate must be issued by the root or by one of them. The DER
-- certificates are stored back to back (each DER value states its length).
ALTER TABLE trusted_certificate_profiles
    ADD COLUMN issuing_certificates_der BYTEA NOT NULL DEFAULT '\x';
