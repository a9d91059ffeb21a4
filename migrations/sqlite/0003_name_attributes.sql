-- Attributes that subject-name and SAN variables read
-- ({{OnPremisesSecurityIdentifier}}, {{MEID}}, {{WiFiMacAddress}}, {{FullyQualifiedDomainName}}).
ALTER TABLE users ADD COLUMN on_premises_security_identifier TEXT;
ALTER TABLE devices ADD COLUMN meid TEXT;
ALTER TABLE devices ADD COLUMN wifi_mac_address TEXT;
ALTER TABLE devices ADD COLUMN fully_qualified_domain_name TEXT;
