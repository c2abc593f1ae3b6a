#include "crypto.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

namespace kvdesk::crypto {

namespace {

const EVP_MD *digest(int bits)
{
    switch (bits) {
    case 256:
        return EVP_sha256();
    case 384:
        return EVP_sha384();
    case 512:
        return EVP_sha512();
    default:
        return nullptr;
    }
}

Pkey fromParams(const char *type, OSSL_PARAM *params)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
    EVP_PKEY *key = nullptr;
    if (ctx && EVP_PKEY_fromdata_init(ctx) > 0)
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
    return Pkey(key);
}

bool verify(EVP_PKEY *key, int digestBits, QByteArrayView data, const unsigned char *sig, size_t sigLen)
{
    const EVP_MD *md = digest(digestBits);
    if (!key || !md)
        return false;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, key) == 1 &&
              EVP_DigestVerify(ctx, sig, sigLen, reinterpret_cast<const unsigned char *>(data.data()),
                               size_t(data.size())) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

} // namespace

namespace {

// Fetched once: with EVP_sha256() OpenSSL 3 looks the implementation up again on every digest,
// which costs more than hashing an API key.
const EVP_MD *sha256Md()
{
    static EVP_MD *md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md ? md : EVP_sha256();
}

void sha256Into(QByteArrayView data, unsigned char *out)
{
    // One context per thread, initialised again for each digest rather than made and freed.
    struct Context
    {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        ~Context() { EVP_MD_CTX_free(ctx); }
    };
    thread_local Context context;
    unsigned int len = 0;
    if (!context.ctx || EVP_DigestInit_ex2(context.ctx, sha256Md(), nullptr) != 1 ||
        EVP_DigestUpdate(context.ctx, data.data(), size_t(data.size())) != 1 ||
        EVP_DigestFinal_ex(context.ctx, out, &len) != 1)
        EVP_Digest(data.data(), size_t(data.size()), out, &len, sha256Md(), nullptr);
}

} // namespace

QByteArray sha256(QByteArrayView data)
{
    QByteArray out(32, '\0');
    sha256Into(data, reinterpret_cast<unsigned char *>(out.data()));
    return out;
}

bool digestEquals(QByteArrayView data, QByteArrayView digest)
{
    unsigned char d[32];
    sha256Into(data, d);
    return digest.size() == qsizetype(sizeof d) && CRYPTO_memcmp(d, digest.data(), sizeof d) == 0;
}

void PkeyDeleter::operator()(evp_pkey_st *key) const
{
    EVP_PKEY_free(key);
}

bool constantTimeSameSize(QByteArrayView a, QByteArrayView b)
{
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), size_t(a.size())) == 0;
}

bool constantTimeEquals(QByteArrayView a, QByteArrayView b)
{
    // Comparing digests keeps the time independent of where, and whether, the lengths differ.
    return digestEquals(a, sha256(b));
}

QByteArray hmac(int digestBits, QByteArrayView key, QByteArrayView data)
{
    const char *name = digestBits == 256   ? "SHA256"
                       : digestBits == 384 ? "SHA384"
                       : digestBits == 512 ? "SHA512"
                                           : nullptr;
    if (!name)
        return {};
    QByteArray out(EVP_MAX_MD_SIZE, '\0');
    size_t len = 0;
    // A zero-length key is passed as one byte of buffer with length 0 (EVP_Q_mac wants a pointer).
    static const unsigned char empty = 0;
    const auto *keyData = key.isEmpty() ? &empty : reinterpret_cast<const unsigned char *>(key.data());
    if (!EVP_Q_mac(nullptr, "HMAC", nullptr, name, nullptr, keyData, size_t(key.size()),
                   reinterpret_cast<const unsigned char *>(data.data()), size_t(data.size()),
                   reinterpret_cast<unsigned char *>(out.data()), size_t(out.size()), &len))
        return {};
    out.resize(qsizetype(len));
    return out;
}

std::optional<QByteArray> base64UrlDecode(QByteArrayView text)
{
    for (char c : text) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '_';
        if (!ok)
            return std::nullopt;
    }
    if (text.size() % 4 == 1)
        return std::nullopt;
    auto result = QByteArray::fromBase64Encoding(
        QByteArray(text.data(), text.size()), QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals |
                                                  QByteArray::AbortOnBase64DecodingErrors);
    if (!result)
        return std::nullopt;
    return result.decoded;
}

QByteArray base64UrlEncode(QByteArrayView data)
{
    return QByteArray(data.data(), data.size())
        .toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals);
}

QByteArray randomBytes(int count)
{
    QByteArray bytes(count, Qt::Uninitialized);
    if (RAND_bytes(reinterpret_cast<unsigned char *>(bytes.data()), count) != 1)
        qFatal("OpenSSL's random generator failed");
    return bytes;
}

Pkey rsaPublicKey(const QByteArray &modulus, const QByteArray &exponent)
{
    BIGNUM *n =
        BN_bin2bn(reinterpret_cast<const unsigned char *>(modulus.constData()), int(modulus.size()), nullptr);
    BIGNUM *e = BN_bin2bn(reinterpret_cast<const unsigned char *>(exponent.constData()), int(exponent.size()),
                          nullptr);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    Pkey key;
    if (n && e && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)) {
        OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
        if (params)
            key = fromParams("RSA", params);
        OSSL_PARAM_free(params);
    }
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return key;
}

Pkey ecPublicKey(const QByteArray &curve, const QByteArray &x, const QByteArray &y)
{
    const char *group = curve == "P-256" ? "prime256v1" : curve == "P-384" ? "secp384r1" : nullptr;
    const int size = curve == "P-256" ? 32 : 48;
    if (!group || x.size() != size || y.size() != size)
        return {};
    QByteArray point(1, '\x04');
    point.append(x).append(y); // uncompressed point
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char *>(group), 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), size_t(point.size())),
        OSSL_PARAM_construct_end()};
    return fromParams("EC", params);
}

bool verifyRsa(evp_pkey_st *key, int digestBits, QByteArrayView data, QByteArrayView signature)
{
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
        return false;
    return verify(key, digestBits, data, reinterpret_cast<const unsigned char *>(signature.data()),
                  size_t(signature.size()));
}

bool verifyEcdsa(evp_pkey_st *key, int digestBits, int coordinateBytes, QByteArrayView data,
                 QByteArrayView signature)
{
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC || signature.size() != 2 * coordinateBytes)
        return false;
    const auto *raw = reinterpret_cast<const unsigned char *>(signature.data());
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, coordinateBytes, nullptr);
    BIGNUM *s = BN_bin2bn(raw + coordinateBytes, coordinateBytes, nullptr);
    if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return false;
    }
    unsigned char *der = nullptr;
    const int derLen = i2d_ECDSA_SIG(sig, &der);
    const bool ok = derLen > 0 && verify(key, digestBits, data, der, size_t(derLen));
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    return ok;
}

int keyBits(evp_pkey_st *key)
{
    return key ? EVP_PKEY_get_bits(key) : 0;
}

} // namespace kvdesk::crypto
