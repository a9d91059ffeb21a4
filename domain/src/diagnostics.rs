//! The connector's event IDs and diagnostic codes (seed: "Intune Connector
//! events and diagnostic codes", tables "Event IDs and descriptions" and
//! "Diagnostic codes").
//!
//! Every step of challenge verification, notification, issuance and
//! revocation reports one [`EventId`] and one [`DiagnosticCode`]; keeping both
//! tables here, spelled exactly as the seed spells them, lets operators who
//! know Intune's connector logs read Scepter's without a translation table.

/// A diagnostic code from the seed's "Diagnostic codes" table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiagnosticCode {
    Success,
    PkcsIssueCaUnavailable,
    SymantecClientAuthCertNotFound,
    RevokeCertAccessDenied,
    CertThumbprintNotFound,
    CertificateNotFound,
    CertificateExpired,
    CrpScepCertNotFound,
    CrpScepSigningCertNotFound,
    CrpScepDeserializeFailed,
    CrpScepChallengeExpired,
    UnknownError,
}

impl DiagnosticCode {
    /// Every code, in the seed's order.
    pub const ALL: [DiagnosticCode; 12] = [
        Self::Success,
        Self::PkcsIssueCaUnavailable,
        Self::SymantecClientAuthCertNotFound,
        Self::RevokeCertAccessDenied,
        Self::CertThumbprintNotFound,
        Self::CertificateNotFound,
        Self::CertificateExpired,
        Self::CrpScepCertNotFound,
        Self::CrpScepSigningCertNotFound,
        Self::CrpScepDeserializeFailed,
        Self::CrpScepChallengeExpired,
        Self::UnknownError,
    ];

    /// The numeric code.
    ///
    /// `Unknown_Error` is `0x0FFFFFFF`: the seed's diagnostic table prints it
    /// with nine hex digits (`0x0FFFFFFFF`), a typo that its event table, which
    /// lists it eight times as `0x0FFFFFFF`, contradicts.
    pub fn code(self) -> u32 {
        match self {
            Self::Success => 0x0000_0000,
            Self::PkcsIssueCaUnavailable => 0x0000_0400,
            Self::SymantecClientAuthCertNotFound => 0x0000_0401,
            Self::RevokeCertAccessDenied => 0x0000_0402,
            Self::CertThumbprintNotFound => 0x0000_0403,
            Self::CertificateNotFound => 0x0000_0404,
            Self::CertificateExpired => 0x0000_0405,
            Self::CrpScepCertNotFound => 0x0000_0408,
            Self::CrpScepSigningCertNotFound => 0x0000_0409,
            Self::CrpScepDeserializeFailed => 0x0000_0410,
            Self::CrpScepChallengeExpired => 0x0000_0411,
            Self::UnknownError => 0x0FFF_FFFF,
        }
    }

    /// The code as the seed writes it: `0x` and eight upper-case hex digits.
    pub fn hex(self) -> String {
        format!("0x{:08X}", self.code())
    }

    /// The code with this numeric value, if the seed defines one.
    pub fn from_code(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|candidate| candidate.code() == code)
    }

    /// The seed's diagnostic name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::PkcsIssueCaUnavailable => "PKCS_Issue_CA_Unavailable",
            Self::SymantecClientAuthCertNotFound => "Symantec_ClientAuthCertNotFound",
            Self::RevokeCertAccessDenied => "RevokeCert_AccessDenied",
            Self::CertThumbprintNotFound => "CertThumbprint_NotFound",
            Self::CertificateNotFound => "Certificate_NotFound",
            Self::CertificateExpired => "Certificate_Expired",
            Self::CrpScepCertNotFound => "CRPSCEPCert_NotFound",
            Self::CrpScepSigningCertNotFound => "CRPSCEPSigningCert_NotFound",
            Self::CrpScepDeserializeFailed => "CRPSCEPDeserialize_Failed",
            Self::CrpScepChallengeExpired => "CRPSCEPChallenge_Expired",
            Self::UnknownError => "Unknown_Error",
        }
    }

    /// The seed's English diagnostic message.
    pub fn message(self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::PkcsIssueCaUnavailable => {
                "Certification authority is not valid or is unreachable. Verify that the certification \
                 authority is available, and that your server can communicate with it."
            }
            Self::SymantecClientAuthCertNotFound => {
                "Symantec Client Auth certificate was not found in the local cert store. See the article \
                 Install the Symantec registration authorization certificate for more information."
            }
            Self::RevokeCertAccessDenied => {
                "The specified account does not have permissions to revoke a certificate from CA. See CA \
                 Name field in the event message details to determine the issuing CA."
            }
            Self::CertThumbprintNotFound => {
                "Could not find a certificate that matched your input. Enroll the certificate connector \
                 and try again."
            }
            Self::CertificateNotFound => {
                "Could not find a certificate that matched the input supplied. Re-enroll the certificate \
                 connector and try again."
            }
            Self::CertificateExpired => {
                "A certificate expired. Re-enroll the certificate connector to renew the certificate and \
                 try again."
            }
            Self::CrpScepCertNotFound => {
                "CRP Encryption certificate could not be found. Verify that NDES and the Intune Connector \
                 is setup correctly."
            }
            Self::CrpScepSigningCertNotFound => {
                "Signing certificate could not be retrieved. Verify the Intune Connector Service is \
                 configured correctly, and the Intune Connector Service is running. Verify also that the \
                 certificate download events were successful."
            }
            Self::CrpScepDeserializeFailed => {
                "Failed to deserialize SCEP challenge request. Verify the NDES and Intune Connector is \
                 setup correctly."
            }
            Self::CrpScepChallengeExpired => {
                "Request denied due to expired certificate challenge. The client device can retry after \
                 obtaining a new challenge from the management server."
            }
            Self::UnknownError => {
                "We are unable to complete your request because a server-side error occurred. Please try \
                 again."
            }
        }
    }
}

/// An event from the seed's "Event IDs and descriptions" table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventId {
    StartedConnectorService,
    StoppedConnectorService,
    CertificateRenewalSuccess,
    CertificateRenewalFailure,
    RetrieveCertificateError,
    RetrieveCertificateWarning,
    PkcsCertIssueSuccess,
    PkcsCertIssueFailure,
    RevokeCertSuccess,
    RevokeCertFailure,
    UploadSuccess,
    UploadFailure,
    DownloadSuccess,
    DownloadFailure,
    CrpVerifyMetricSuccess,
    CrpVerifyMetricWarning,
    CrpVerifyMetricFailure,
    CrpNotifyMetricSuccess,
    CrpNotifyMetricFailure,
}

impl EventId {
    /// Every event, in the seed's order.
    pub const ALL: [EventId; 19] = [
        Self::StartedConnectorService,
        Self::StoppedConnectorService,
        Self::CertificateRenewalSuccess,
        Self::CertificateRenewalFailure,
        Self::RetrieveCertificateError,
        Self::RetrieveCertificateWarning,
        Self::PkcsCertIssueSuccess,
        Self::PkcsCertIssueFailure,
        Self::RevokeCertSuccess,
        Self::RevokeCertFailure,
        Self::UploadSuccess,
        Self::UploadFailure,
        Self::DownloadSuccess,
        Self::DownloadFailure,
        Self::CrpVerifyMetricSuccess,
        Self::CrpVerifyMetricWarning,
        Self::CrpVerifyMetricFailure,
        Self::CrpNotifyMetricSuccess,
        Self::CrpNotifyMetricFailure,
    ];

    /// The numeric event ID.
    pub fn id(self) -> u32 {
        match self {
            Self::StartedConnectorService => 10010,
            Self::StoppedConnectorService => 10020,
            Self::CertificateRenewalSuccess => 10100,
            Self::CertificateRenewalFailure => 10102,
            Self::RetrieveCertificateError => 10302,
            Self::RetrieveCertificateWarning => 10301,
            Self::PkcsCertIssueSuccess => 20100,
            Self::PkcsCertIssueFailure => 20102,
            Self::RevokeCertSuccess => 20200,
            Self::RevokeCertFailure => 20202,
            Self::UploadSuccess => 20300,
            Self::UploadFailure => 20302,
            Self::DownloadSuccess => 20400,
            Self::DownloadFailure => 20402,
            Self::CrpVerifyMetricSuccess => 20500,
            Self::CrpVerifyMetricWarning => 20501,
            Self::CrpVerifyMetricFailure => 20502,
            Self::CrpNotifyMetricSuccess => 20600,
            Self::CrpNotifyMetricFailure => 20602,
        }
    }

    /// The event with this numeric ID, if the seed defines one.
    pub fn from_id(id: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|candidate| candidate.id() == id)
    }

    /// The seed's event name.
    pub fn name(self) -> &'static str {
        match self {
            Self::StartedConnectorService => "StartedConnectorService",
            Self::StoppedConnectorService => "StoppedConnectorService",
            Self::CertificateRenewalSuccess => "CertificateRenewal_Success",
            Self::CertificateRenewalFailure => "CertificateRenewal_Failure",
            Self::RetrieveCertificateError => "RetrieveCertificate_Error",
            Self::RetrieveCertificateWarning => "RetrieveCertificate_Warning",
            Self::PkcsCertIssueSuccess => "PkcsCertIssue_Success",
            Self::PkcsCertIssueFailure => "PkcsCertIssue_Failure",
            Self::RevokeCertSuccess => "RevokeCert_Success",
            Self::RevokeCertFailure => "RevokeCert_Failure",
            Self::UploadSuccess => "Upload_Success",
            Self::UploadFailure => "Upload_Failure",
            Self::DownloadSuccess => "Download_Success",
            Self::DownloadFailure => "Download_Failure",
            Self::CrpVerifyMetricSuccess => "CRPVerifyMetric_Success",
            Self::CrpVerifyMetricWarning => "CRPVerifyMetric_Warning",
            Self::CrpVerifyMetricFailure => "CRPVerifyMetric_Failure",
            Self::CrpNotifyMetricSuccess => "CRPNotifyMetric_Success",
            Self::CrpNotifyMetricFailure => "CRPNotifyMetric_Failure",
        }
    }

    /// The seed's English event description.
    pub fn description(self) -> &'static str {
        match self {
            Self::StartedConnectorService => "Connector service started",
            Self::StoppedConnectorService => "Connector service stopped",
            Self::CertificateRenewalSuccess => "Connector enrollment certificate successfully renewed",
            Self::CertificateRenewalFailure => {
                "Connector enrollment certificate failed to renew. Reinstall the connector."
            }
            Self::RetrieveCertificateError => {
                "Failed to retrieve the connector enrollment certificate from the registry. Review event \
                 details for the certificate thumbprint related to this event."
            }
            Self::RetrieveCertificateWarning => "Check diagnostic information in event details.",
            Self::PkcsCertIssueSuccess => {
                "Successfully issued a PKCS certificate. Review event details for the device ID, user ID, \
                 CA name, certificate template name, and certificate thumbprint related to this event."
            }
            Self::PkcsCertIssueFailure => {
                "Failed to issue a PKCS certificate. Review event details for the device ID, user ID, CA \
                 name, certificate template name, and certificate thumbprint related to this event."
            }
            Self::RevokeCertSuccess => {
                "Successfully revoked the certificate. Review event details for the device ID, user ID, CA \
                 name, and certificate serial number related to this event."
            }
            Self::RevokeCertFailure => {
                "Failed to revoke the certificate. Review event details for the device ID, user ID, CA \
                 name, and certificate serial number related to this event. For additional information, \
                 see the NDES SVC Logs."
            }
            Self::UploadSuccess => {
                "Successfully uploaded the certificate\u{2019}s request or revocation data. Review the event \
                 details for the upload details."
            }
            Self::UploadFailure => {
                "Failed to upload the certificate\u{2019}s request or revocation data. Review the event \
                 details > Upload State to determine the point of failure."
            }
            Self::DownloadSuccess => {
                "Successfully downloaded request to sign a certificate, download a client certificate, or \
                 revoke a certificate. Review the event details for the download details."
            }
            Self::DownloadFailure => {
                "Failed to download request to sign a certificate, download client certificate, or revoke \
                 a certificate. Review the event details for the download details."
            }
            Self::CrpVerifyMetricSuccess => {
                "Certificate Registration Point successfully verified a client challenge"
            }
            Self::CrpVerifyMetricWarning => {
                "Certificate Registration Point completed but rejected the request. See diagnostic code \
                 and message for more details."
            }
            Self::CrpVerifyMetricFailure => {
                "Certificate Registration Point failed to verify a client challenge. See diagnostic code \
                 and message for more details. See event message details for the Device ID corresponding \
                 to the challenge."
            }
            Self::CrpNotifyMetricSuccess => {
                "Certificate Registration Point successfully finished notify process and has sent the \
                 certificate to the client device."
            }
            Self::CrpNotifyMetricFailure => {
                "Certificate Registration Point failed to finish notify process. See the event message \
                 details for information on the request. Verify connection between the NDES server and \
                 the CA."
            }
        }
    }

    /// The seed's "Related Diagnostic Codes" for this event, in its order.
    pub fn related_codes(self) -> &'static [DiagnosticCode] {
        use DiagnosticCode::*;
        match self {
            Self::CertificateRenewalFailure => &[Success, CertificateExpired, UnknownError],
            Self::RetrieveCertificateError => &[Success, CertificateNotFound, UnknownError],
            Self::RetrieveCertificateWarning => &[Success, CertThumbprintNotFound, UnknownError],
            Self::PkcsCertIssueFailure => &[
                Success,
                PkcsIssueCaUnavailable,
                SymantecClientAuthCertNotFound,
                UnknownError,
            ],
            Self::RevokeCertFailure => &[Success, RevokeCertAccessDenied, UnknownError],
            Self::CrpVerifyMetricWarning => &[Success, CrpScepChallengeExpired, UnknownError],
            Self::CrpVerifyMetricFailure => &[
                Success,
                CrpScepCertNotFound,
                CrpScepSigningCertNotFound,
                CrpScepDeserializeFailed,
                UnknownError,
            ],
            Self::StartedConnectorService
            | Self::StoppedConnectorService
            | Self::CertificateRenewalSuccess
            | Self::PkcsCertIssueSuccess
            | Self::RevokeCertSuccess
            | Self::UploadSuccess
            | Self::UploadFailure
            | Self::DownloadSuccess
            | Self::DownloadFailure
            | Self::CrpVerifyMetricSuccess
            | Self::CrpNotifyMetricSuccess
            | Self::CrpNotifyMetricFailure => &[Success, UnknownError],
        }
    }
}

#[cfg(test)]
mod tests;
