#include "jwt.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <cmath>

using namespace Qt::StringLiterals;

namespace kvdesk {

namespace {

int digestBitsOf(const QByteArray &alg)
{
    return alg.endsWith("256") ? 256 : alg.endsWith("384") ? 384 : alg.endsWith("512") ? 512 : 0;
}

std::optional<QByteArray> decodedField(const QJsonObject &o, const QString &name)
{
    const auto v = o.value(name);
    if (!v.isString())
        return std::nullopt;
    return crypto::base64UrlDecode(v.toString().toLatin1());
}

} // namespace

std::optional<Jwk> Jwk::fromJson(const QJsonObject &o, QString *why)
{
    Jwk jwk;
    jwk.kid = o.value("kid"_L1).toString().toUtf8();
    jwk.kty = o.value("kty"_L1).toString().toLatin1();
    jwk.alg = o.value("alg"_L1).toString().toLatin1();
    const QString use = o.value("use"_L1).toString();
    if (!use.isEmpty() && use != "sig"_L1) {
        *why = u"not a signing key"_s;
        return std::nullopt;
    }
    crypto::Pkey key;
    if (jwk.kty == "RSA") {
        const auto n = decodedField(o, u"n"_s);
        const auto e = decodedField(o, u"e"_s);
        if (n && e && n->size() >= 256) // RSA keys shorter than 2048 bits are refused
            key = crypto::rsaPublicKey(*n, *e);
    } else if (jwk.kty == "EC") {
        jwk.crv = o.value("crv"_L1).toString().toLatin1();
        const auto x = decodedField(o, u"x"_s);
        const auto y = decodedField(o, u"y"_s);
        if (x && y)
            key = crypto::ecPublicKey(jwk.crv, *x, *y);
    }
    if (!key) {
        *why = u"unsupported or malformed key"_s;
        return std::nullopt;
    }
    jwk.key = std::shared_ptr<evp_pkey_st>(key.release(), crypto::PkeyDeleter());
    return jwk;
}

std::optional<Jwt> Jwt::parse(QByteArrayView token, QString *why)
{
    const QList<QByteArray> parts = QByteArray(token.data(), token.size()).split('.');
    if (parts.size() != 3) {
        *why = u"not a compact JWS"_s;
        return std::nullopt;
    }
    const auto header = crypto::base64UrlDecode(parts[0]);
    const auto payload = crypto::base64UrlDecode(parts[1]);
    const auto signature = crypto::base64UrlDecode(parts[2]);
    if (!header || !payload || !signature) {
        *why = u"bad base64url"_s;
        return std::nullopt;
    }
    QJsonParseError error;
    const QJsonDocument h = QJsonDocument::fromJson(*header, &error);
    const QJsonDocument p = QJsonDocument::fromJson(*payload, &error);
    if (!h.isObject() || !p.isObject()) {
        *why = u"header or payload is not a JSON object"_s;
        return std::nullopt;
    }
    if (h.object().contains("crit"_L1)) {
        *why = u"critical header parameters are not supported"_s;
        return std::nullopt;
    }
    Jwt jwt;
    jwt.alg = h.object().value("alg"_L1).toString().toLatin1();
    jwt.kid = h.object().value("kid"_L1).toString().toUtf8();
    jwt.claims = p.object();
    jwt.signingInput = parts[0] + '.' + parts[1];
    jwt.signature = *signature;
    return jwt;
}

bool Jwt::isAsymmetric() const
{
    return alg == "RS256" || alg == "RS384" || alg == "RS512" || alg == "ES256" || alg == "ES384";
}

bool Jwt::verifyHmac(QByteArrayView secret) const
{
    if (!isHmac() || secret.isEmpty())
        return false;
    const QByteArray expected = crypto::hmac(digestBitsOf(alg), secret, signingInput);
    return !expected.isEmpty() && crypto::constantTimeEquals(expected, signature);
}

bool Jwt::verifyWith(const Jwk &jwk) const
{
    if (!isAsymmetric() || (!jwk.alg.isEmpty() && jwk.alg != alg))
        return false;
    if (alg.startsWith("RS"))
        return jwk.kty == "RSA" &&
               crypto::verifyRsa(jwk.key.get(), digestBitsOf(alg), signingInput, signature);
    if (alg == "ES256")
        return jwk.kty == "EC" && jwk.crv == "P-256" &&
               crypto::verifyEcdsa(jwk.key.get(), 256, 32, signingInput, signature);
    if (alg == "ES384")
        return jwk.kty == "EC" && jwk.crv == "P-384" &&
               crypto::verifyEcdsa(jwk.key.get(), 384, 48, signingInput, signature);
    return false;
}

bool Jwt::claimsValid(qint64 nowSeconds, const QString &issuer, const QString &audience, QString *why) const
{
    const QJsonValue exp = claims.value("exp"_L1);
    if (!exp.isDouble() || !std::isfinite(exp.toDouble())) {
        *why = u"no exp claim"_s;
        return false;
    }
    if (exp.toDouble() <= double(nowSeconds)) {
        *why = u"expired"_s;
        return false;
    }
    const QJsonValue nbf = claims.value("nbf"_L1);
    if (!nbf.isUndefined() && (!nbf.isDouble() || nbf.toDouble() > double(nowSeconds))) {
        *why = u"not valid yet"_s;
        return false;
    }
    if (!issuer.isEmpty() && claims.value("iss"_L1).toString() != issuer) {
        *why = u"wrong issuer"_s;
        return false;
    }
    if (!audience.isEmpty()) {
        const QJsonValue aud = claims.value("aud"_L1);
        bool found = aud.isString() && aud.toString() == audience;
        if (aud.isArray()) {
            const QJsonArray list = aud.toArray();
            for (const auto &a : list)
                found = found || (a.isString() && a.toString() == audience);
        }
        if (!found) {
            *why = u"wrong audience"_s;
            return false;
        }
    }
    return true;
}

} // namespace kvdesk
