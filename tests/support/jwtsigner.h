#pragma once

#include <QByteArray>
#include <QJsonObject>
#include <QTcpServer>

#include <memory>

struct evp_pkey_st;

namespace kvdesk::test {

// Makes keys and signs JWTs with libcrypto, as an identity provider would.
class JwtSigner final
{
public:
    enum class KeyType { Rsa2048, P256, P384 };

    explicit JwtSigner(KeyType type, QByteArray kid = {});
    ~JwtSigner();

    // A compact JWS of claims with alg (RS256/384/512, ES256/384 for this key).
    QByteArray sign(const QByteArray &alg, const QJsonObject &claims, const QByteArray &kid = "<own>") const;
    // The public key as a JWK.
    QJsonObject jwk() const;
    QByteArray kid() const { return m_kid; }

    static QByteArray signHmac(const QByteArray &alg, const QByteArray &secret, const QJsonObject &claims,
                               const QJsonObject &extraHeader = {});
    // header.payload.signature with the given raw parts (for malformed tokens).
    static QByteArray compact(const QJsonObject &header, const QJsonObject &claims,
                              const QByteArray &signature);

private:
    KeyType m_type;
    QByteArray m_kid;
    evp_pkey_st *m_key = nullptr;
};

// A tiny HTTP server on loopback that serves a JWKS and counts how often it was fetched.
class JwksServer final : public QTcpServer
{
    Q_OBJECT

public:
    JwksServer();
    void setKeys(const QList<QJsonObject> &keys);
    QByteArray url() const;
    int fetches() const { return m_fetches; }
    // Answers each fetch only after this long.
    void setDelayMs(int ms) { m_delayMs = ms; }

private:
    QByteArray m_document;
    int m_delayMs = 0;
    int m_fetches = 0;
};

} // namespace kvdesk::test
