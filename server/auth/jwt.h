#pragma once

#include "crypto.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>

#include <memory>
#include <optional>

namespace kvdesk {

// A public key of a JSON Web Key Set.
struct Jwk
{
    QByteArray kid;
    QByteArray kty; // "RSA" or "EC"
    QByteArray alg; // optional restriction
    QByteArray crv; // EC only
    std::shared_ptr<evp_pkey_st> key;

    static std::optional<Jwk> fromJson(const QJsonObject &object, QString *why);
};

// A JWS compact token split and decoded, not yet trusted.
struct Jwt
{
    QByteArray alg;
    QByteArray kid;
    QJsonObject claims;
    QByteArray signingInput; // header.payload, as sent
    QByteArray signature;

    static std::optional<Jwt> parse(QByteArrayView token, QString *why);

    bool isHmac() const { return alg == "HS256" || alg == "HS384" || alg == "HS512"; }
    bool isAsymmetric() const;
    bool verifyHmac(QByteArrayView secret) const;
    // Only with a key whose type, curve and declared algorithm fit this token's alg.
    bool verifyWith(const Jwk &jwk) const;
    // exp in the future (required), nbf in the past, and iss/aud when expected ones are given.
    bool claimsValid(qint64 nowSeconds, const QString &issuer, const QString &audience, QString *why) const;
};

} // namespace kvdesk
