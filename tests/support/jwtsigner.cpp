#include "jwtsigner.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTcpSocket>
#include <QTimer>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

namespace kvdesk::test {

namespace {

QByteArray b64(const QByteArray &data)
{
    return data.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals);
}

QByteArray bnParam(evp_pkey_st *key, const char *name)
{
    BIGNUM *bn = nullptr;
    EVP_PKEY_get_bn_param(key, name, &bn);
    QByteArray out(BN_num_bytes(bn), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char *>(out.data()));
    BN_free(bn);
    return out;
}

} // namespace

JwtSigner::JwtSigner(KeyType type, QByteArray kid) : m_type(type), m_kid(std::move(kid))
{
    switch (type) {
    case KeyType::Rsa2048:
        m_key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(2048));
        break;
    case KeyType::P256:
        m_key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
        break;
    case KeyType::P384:
        m_key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
        break;
    }
}

JwtSigner::~JwtSigner()
{
    EVP_PKEY_free(m_key);
}

QByteArray JwtSigner::compact(const QJsonObject &header, const QJsonObject &claims,
                              const QByteArray &signature)
{
    return b64(QJsonDocument(header).toJson(QJsonDocument::Compact)) + '.' +
           b64(QJsonDocument(claims).toJson(QJsonDocument::Compact)) + '.' + b64(signature);
}

QByteArray JwtSigner::sign(const QByteArray &alg, const QJsonObject &claims, const QByteArray &kid) const
{
    QJsonObject header{{QStringLiteral("alg"), QString::fromLatin1(alg)},
                       {QStringLiteral("typ"), QStringLiteral("JWT")}};
    const QByteArray useKid = kid == "<own>" ? m_kid : kid;
    if (!useKid.isEmpty())
        header.insert(QStringLiteral("kid"), QString::fromUtf8(useKid));
    const QByteArray input = b64(QJsonDocument(header).toJson(QJsonDocument::Compact)) + '.' +
                             b64(QJsonDocument(claims).toJson(QJsonDocument::Compact));
    const EVP_MD *md = alg.endsWith("256") ? EVP_sha256() : alg.endsWith("384") ? EVP_sha384() : EVP_sha512();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, md, nullptr, m_key);
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char *>(input.constData()),
                   size_t(input.size()));
    QByteArray sig(qsizetype(len), '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char *>(sig.data()), &len,
                   reinterpret_cast<const unsigned char *>(input.constData()), size_t(input.size()));
    sig.resize(qsizetype(len));
    EVP_MD_CTX_free(ctx);
    if (m_type != KeyType::Rsa2048) {
        // DER ECDSA signature to JWS r || s.
        const int size = m_type == KeyType::P256 ? 32 : 48;
        const auto *p = reinterpret_cast<const unsigned char *>(sig.constData());
        ECDSA_SIG *ecdsa = d2i_ECDSA_SIG(nullptr, &p, long(sig.size()));
        QByteArray raw(2 * size, '\0');
        BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), reinterpret_cast<unsigned char *>(raw.data()), size);
        BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), reinterpret_cast<unsigned char *>(raw.data()) + size, size);
        ECDSA_SIG_free(ecdsa);
        sig = raw;
    }
    return input + '.' + b64(sig);
}

QJsonObject JwtSigner::jwk() const
{
    QJsonObject jwk;
    if (!m_kid.isEmpty())
        jwk.insert(QStringLiteral("kid"), QString::fromUtf8(m_kid));
    if (m_type == KeyType::Rsa2048) {
        jwk.insert(QStringLiteral("kty"), QStringLiteral("RSA"));
        jwk.insert(QStringLiteral("n"), QString::fromLatin1(b64(bnParam(m_key, OSSL_PKEY_PARAM_RSA_N))));
        jwk.insert(QStringLiteral("e"), QString::fromLatin1(b64(bnParam(m_key, OSSL_PKEY_PARAM_RSA_E))));
    } else {
        const int size = m_type == KeyType::P256 ? 32 : 48;
        QByteArray point(1 + 2 * size, '\0');
        size_t len = 0;
        EVP_PKEY_get_octet_string_param(m_key, OSSL_PKEY_PARAM_PUB_KEY,
                                        reinterpret_cast<unsigned char *>(point.data()), size_t(point.size()),
                                        &len);
        jwk.insert(QStringLiteral("kty"), QStringLiteral("EC"));
        jwk.insert(QStringLiteral("crv"),
                   m_type == KeyType::P256 ? QStringLiteral("P-256") : QStringLiteral("P-384"));
        jwk.insert(QStringLiteral("x"), QString::fromLatin1(b64(point.mid(1, size))));
        jwk.insert(QStringLiteral("y"), QString::fromLatin1(b64(point.mid(1 + size, size))));
    }
    jwk.insert(QStringLiteral("use"), QStringLiteral("sig"));
    return jwk;
}

QByteArray JwtSigner::signHmac(const QByteArray &alg, const QByteArray &secret, const QJsonObject &claims,
                               const QJsonObject &extraHeader)
{
    QJsonObject header{{QStringLiteral("alg"), QString::fromLatin1(alg)},
                       {QStringLiteral("typ"), QStringLiteral("JWT")}};
    for (auto it = extraHeader.begin(); it != extraHeader.end(); ++it)
        header.insert(it.key(), it.value());
    const QByteArray input = b64(QJsonDocument(header).toJson(QJsonDocument::Compact)) + '.' +
                             b64(QJsonDocument(claims).toJson(QJsonDocument::Compact));
    const char *digest = alg.endsWith("256") ? "SHA256" : alg.endsWith("384") ? "SHA384" : "SHA512";
    unsigned char out[EVP_MAX_MD_SIZE];
    size_t len = 0;
    EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, secret.constData(), size_t(secret.size()),
              reinterpret_cast<const unsigned char *>(input.constData()), size_t(input.size()), out,
              sizeof out, &len);
    return input + '.' + b64(QByteArray(reinterpret_cast<const char *>(out), qsizetype(len)));
}

JwksServer::JwksServer()
{
    listen(QHostAddress::LocalHost, 0);
    QObject::connect(this, &QTcpServer::newConnection, this, [this] {
        while (QTcpSocket *socket = nextPendingConnection()) {
            QObject::connect(socket, &QIODevice::readyRead, socket, [this, socket] {
                if (!socket->readAll().contains("\r\n\r\n"))
                    return;
                ++m_fetches;
                const QByteArray answer =
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    "Content-Length: " +
                    QByteArray::number(m_document.size()) + "\r\n\r\n" + m_document;
                QTimer::singleShot(m_delayMs, socket, [socket, answer] {
                    socket->write(answer);
                    socket->disconnectFromHost();
                });
            });
            QObject::connect(socket, &QAbstractSocket::disconnected, socket, &QObject::deleteLater);
        }
    });
}

void JwksServer::setKeys(const QList<QJsonObject> &keys)
{
    QJsonArray array;
    for (const auto &k : keys)
        array.append(k);
    m_document = QJsonDocument(QJsonObject{{QStringLiteral("keys"), array}}).toJson(QJsonDocument::Compact);
}

QByteArray JwksServer::url() const
{
    return "http://127.0.0.1:" + QByteArray::number(serverPort()) + "/.well-known/jwks.json";
}

} // namespace kvdesk::test
