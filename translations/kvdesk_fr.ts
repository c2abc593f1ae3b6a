<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr">
<context>
    <name>QObject</name>
    <message>
        <location filename="../server/credentials/keychainstore.cpp" line="+27"/>
        <source>The keychain holds no KV Desk credentials.</source>
        <translation>Le trousseau ne contient aucun identifiant de KV Desk.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>No keychain is available on this system (%1).</source>
        <translation>Aucun trousseau n’est disponible sur ce système (%1).</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The keychain refused access (%1). Is it locked?</source>
        <translation>Le trousseau a refusé l’accès (%1). Est-il verrouillé ?</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>No keychain is available (no Secret Service: %1).</source>
        <translation>Aucun trousseau n’est disponible (pas de Secret Service : %1).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The keychain failed: %1</source>
        <translation>Le trousseau a échoué : %1</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>The keychain did not answer within %1 s (is it locked, waiting for a password prompt?).</source>
        <translation>Le trousseau n’a pas répondu dans les %1 s (est-il verrouillé, en attente d’un mot de passe ?).</translation>
    </message>
</context>
<context>
    <name>kvdesk::ApiError</name>
    <message>
        <location filename="../server/http/apierror.cpp" line="+41"/>
        <source>Bad Request</source>
        <translation>Requête invalide</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Not found</source>
        <translation>Introuvable</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Unauthorized</source>
        <translation>Non autorisé</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Method not allowed</source>
        <translation>Méthode non autorisée</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Internal server error</source>
        <translation>Erreur interne du serveur</translation>
    </message>
</context>
<context>
    <name>kvdesk::ConfigLoader</name>
    <message>
        <location filename="../server/config/configloader.cpp" line="+44"/>
        <source>config file %1: unknown key &quot;%2&quot;</source>
        <translation>fichier de configuration %1 : clé inconnue « %2 »</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>config file %1: %2 must be an object</source>
        <translation>fichier de configuration %1 : %2 doit être un objet</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>config file %1: %2 must be a non-empty string</source>
        <translation>fichier de configuration %1 : %2 doit être une chaîne non vide</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>config file %1: %2 must be a number from %3 to %4</source>
        <translation>fichier de configuration %1 : %2 doit être un nombre de %3 à %4</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>config file %1: %2 must be true or false</source>
        <translation>fichier de configuration %1 : %2 doit valoir true ou false</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>cannot read the config file %1: %2</source>
        <translation>impossible de lire le fichier de configuration %1 : %2</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>config file %1 is not valid JSON: %2 (at byte %3)</source>
        <translation>le fichier de configuration %1 n’est pas du JSON valide : %2 (à l’octet %3)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>config file %1 must hold a JSON object</source>
        <translation>le fichier de configuration %1 doit contenir un objet JSON</translation>
    </message>
    <message>
        <location line="+43"/>
        <source>config file %1: basePath cannot be switched off</source>
        <translation>fichier de configuration %1 : basePath ne peut pas être désactivé</translation>
    </message>
    <message>
        <location line="+50"/>
        <source>--%1 must be a number of seconds from 0.01 to 86400, not &quot;%2&quot;</source>
        <translation>--%1 doit être un nombre de secondes de 0,01 à 86400, et non « %2 »</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>--%1 must be a whole number from %2 to %3, not &quot;%4&quot;</source>
        <translation>--%1 doit être un nombre entier de %2 à %3, et non « %4 »</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>the database URL %1 names no file</source>
        <translation>l’URL de base de données %1 ne désigne aucun fichier</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>unsupported database URL %1 (use a file path or sqlite:///path)</source>
        <translation>URL de base de données non prise en charge : %1 (utilisez un chemin de fichier ou sqlite:///chemin)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>the database must be a file (an in-memory database cannot be shared between threads)</source>
        <translation>la base de données doit être un fichier (une base en mémoire ne peut pas être partagée entre threads)</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>%1 must be a path starting with &quot;/&quot; (or false), not &quot;%2&quot;</source>
        <translation>%1 doit être un chemin commençant par « / » (ou false), et non « %2 »</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>KV Desk: a JSON key/value store with a REST API compatible with @workertown/kv.</source>
        <translation>KV Desk : un magasin clé/valeur JSON avec une API REST compatible avec @workertown/kv.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Run only the server, without a window.</source>
        <translation>Lancer seulement le serveur, sans fenêtre.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Do not read credentials from the OS keychain (environment and config file only).</source>
        <translation>Ne pas lire les identifiants dans le trousseau du système (environnement et fichier de configuration seulement).</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Language of the window and the messages, such as de, fr or es (default: the system&apos;s).</source>
        <translation>Langue de la fenêtre et des messages, par exemple de, fr ou es (par défaut : celle du système).</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>code</source>
        <translation>code</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Address to listen on (default 127.0.0.1).</source>
        <translation>Adresse d’écoute (par défaut 127.0.0.1).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>address</source>
        <translation>adresse</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Port to listen on (default 8787; 0 picks a free one).</source>
        <translation>Port d’écoute (par défaut 8787 ; 0 en choisit un libre).</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>port</source>
        <translation>port</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The database: an SQLite file path, sqlite:///path, or postgres://user:password@host:port/database (default: kv.sqlite in the application-data folder). Overrides KV_DB.</source>
        <translation>La base de données : chemin d’un fichier SQLite, sqlite:///chemin, ou postgres://utilisateur:motdepasse@hôte:port/base (par défaut : kv.sqlite dans le dossier de données de l’application). Prime sur KV_DB.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>path-or-url</source>
        <translation>chemin-ou-url</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A JSON config file shaped like the original&apos;s options object.</source>
        <translation>Un fichier de configuration JSON de la forme de l’objet d’options de l’original.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>file</source>
        <translation>fichier</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Base path of every endpoint (default /).</source>
        <translation>Chemin de base de tous les points d’accès (par défaut /).</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+3"/>
        <location line="+4"/>
        <location line="+3"/>
        <source>path</source>
        <translation>chemin</translation>
    </message>
    <message>
        <location line="-8"/>
        <source>Prefix of the kv endpoints (default /v1/kv; false switches them off).</source>
        <translation>Préfixe des points d’accès kv (par défaut /v1/kv ; false les désactive).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Prefix of the admin endpoints (default /v1/admin; false switches them off).</source>
        <translation>Préfixe des points d’accès d’administration (par défaut /v1/admin ; false les désactive).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Prefix of the public endpoints (default /; false switches them off).</source>
        <translation>Préfixe des points d’accès publics (par défaut / ; false les désactive).</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Number of server threads (default: one per core).</source>
        <translation>Nombre de threads du serveur (par défaut : un par cœur).</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+7"/>
        <source>n</source>
        <translation>n</translation>
    </message>
    <message>
        <location line="-4"/>
        <source>Seconds a client has to send a whole request, and that an idle connection stays open (default 30).</source>
        <translation>Secondes dont dispose un client pour envoyer une requête entière, et durant lesquelles une connexion inactive reste ouverte (par défaut 30).</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+9"/>
        <source>seconds</source>
        <translation>secondes</translation>
    </message>
    <message>
        <location line="-7"/>
        <source>Most open connections at once (default 1024).</source>
        <translation>Nombre maximal de connexions ouvertes à la fois (par défaut 1024).</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Bound of the in-memory read cache in MiB (default 256; 0 switches it off).</source>
        <translation>Limite du cache de lecture en mémoire, en Mio (par défaut 256 ; 0 le désactive).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>mib</source>
        <translation>mio</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Seconds between removals of expired keys&apos; rows (default 60).</source>
        <translation>Secondes entre deux suppressions des lignes des clés expirées (par défaut 60).</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>
Environment:
  KV_DB                         The database (as --db).
  KV_API_KEY                    API key, sent as &quot;Authorization: Bearer &lt;key&gt;&quot;.
  KV_USERNAME, KV_PASSWORD      Basic authentication.
  KV_JWT_SECRET                 HMAC secret of JWTs (HS256/384/512).
  KV_JWKS_URL                   JWKS of JWT public keys (RS256/384/512, ES256/384).
  KV_JWT_ISSUER, KV_JWT_AUDIENCE  Required iss and aud of JWTs.
The config file may rename these variables. They win over the credentials kept in
the OS keychain (see: kvdesk credentials --help).

Commands:
  kvdesk credentials show|set|rotate|clear   The credentials kept in the OS keychain.
  kvdesk export [--prefix P] [--format ndjson|wrangler|json] [FILE]
  kvdesk import [--dry-run] [--on-conflict skip|overwrite] FILE
</source>
        <translation>
Environnement :
  KV_DB                         La base de données (comme --db).
  KV_API_KEY                    Clé d’API, envoyée comme &quot;Authorization: Bearer &lt;key&gt;&quot;.
  KV_USERNAME, KV_PASSWORD      Authentification Basic.
  KV_JWT_SECRET                 Secret HMAC des JWT (HS256/384/512).
  KV_JWKS_URL                   JWKS des clés publiques des JWT (RS256/384/512, ES256/384).
  KV_JWT_ISSUER, KV_JWT_AUDIENCE  iss et aud exigés des JWT.
Le fichier de configuration peut renommer ces variables. Elles priment sur les identifiants
conservés dans le trousseau du système (voir : kvdesk credentials --help).

Commandes :
  kvdesk credentials show|set|rotate|clear   Les identifiants conservés dans le trousseau du système.
  kvdesk export [--prefix P] [--format ndjson|wrangler|json] [FICHIER]
  kvdesk import [--dry-run] [--on-conflict skip|overwrite] FICHIER
</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>unexpected argument &quot;%1&quot;</source>
        <translation>argument inattendu « %1 »</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>%1 must be an http(s) URL, not &quot;%2&quot;</source>
        <translation>%1 doit être une URL http(s), et non « %2 »</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>--base-path cannot be switched off</source>
        <translation>--base-path ne peut pas être désactivé</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>--host must be an IP address, not &quot;%1&quot;</source>
        <translation>--host doit être une adresse IP, et non « %1 »</translation>
    </message>
</context>
<context>
    <name>kvdesk::ConflictDialog</name>
    <message>
        <location filename="../ui/conflictdialog.cpp" line="+19"/>
        <source>The value changed meanwhile</source>
        <translation>La valeur a changé entre-temps</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>“%1” was deleted since you opened it. Keep your version (creating the key again), or drop it?</source>
        <translation>« %1 » a été supprimée depuis que vous l’avez ouverte. Garder votre version (la clé sera recréée) ou l’abandonner ?</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>“%1” was changed by someone else since you opened it. Which version do you want to keep?</source>
        <translation>« %1 » a été modifiée par quelqu’un d’autre depuis que vous l’avez ouverte. Quelle version voulez-vous garder ?</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Keep &amp;Mine</source>
        <translation>Garder la &amp;mienne</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Drop Mine</source>
        <translation>&amp;Abandonner la mienne</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Take Theirs</source>
        <translation>&amp;Prendre la leur</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Back to &amp;Editing</source>
        <translation>Revenir à l’&amp;édition</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Yours (not saved)</source>
        <translation>La vôtre (non enregistrée)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stored (deleted)</source>
        <translation>Enregistrée (supprimée)</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Stored now</source>
        <translation>Enregistrée actuellement</translation>
    </message>
</context>
<context>
    <name>kvdesk::ConnectionGuard</name>
    <message>
        <location filename="../server/http/connectionguard.cpp" line="+77"/>
        <source>Too many open connections</source>
        <translation>Trop de connexions ouvertes</translation>
    </message>
</context>
<context>
    <name>kvdesk::CredentialVault</name>
    <message>
        <location filename="../server/credentials/credentialvault.cpp" line="+69"/>
        <source>The credentials in the keychain are unreadable; save new ones.</source>
        <translation>Les identifiants du trousseau sont illisibles ; enregistrez-en de nouveaux.</translation>
    </message>
</context>
<context>
    <name>kvdesk::CredentialsCommand</name>
    <message>
        <location filename="../server/commands/credentialscommand.cpp" line="+29"/>
        <source>api key</source>
        <translation>clé d’API</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>basic (user &quot;%1&quot;)</source>
        <translation>basic (utilisateur « %1 »)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>jwt (HMAC secret)</source>
        <translation>jwt (secret HMAC)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>jwt (JWKS %1)</source>
        <translation>jwt (JWKS %1)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>jwt issuer &quot;%1&quot;</source>
        <translation>émetteur jwt « %1 »</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>jwt audience &quot;%1&quot;</source>
        <translation>audience jwt « %1 »</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Strategies on: none
</source>
        <translation>Méthodes actives : aucune
</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Strategies on: %1
</source>
        <translation>Méthodes actives : %1
</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>The server&apos;s credentials, kept in the OS keychain (service &quot;kvdesk&quot;). Environment variables and flags of the server win over them.

  show     list the strategies that are on, and print the API key
  set      set the given credentials (an empty value switches one off; &quot;-&quot; reads it from standard input)
  rotate   generate a new API key, keep it and print it
  clear    remove every credential</source>
        <translation>Les identifiants du serveur, conservés dans le trousseau du système (service &quot;kvdesk&quot;). Les variables d’environnement et les options du serveur priment sur eux.

  show     lister les méthodes actives et afficher la clé d’API
  set      définir les identifiants donnés (une valeur vide en désactive un ; &quot;-&quot; la lit sur l’entrée standard)
  rotate   générer une nouvelle clé d’API, la conserver et l’afficher
  clear    supprimer tous les identifiants</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>show, set, rotate or clear</source>
        <translation>show, set, rotate ou clear</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>API key.</source>
        <translation>Clé d’API.</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>key</source>
        <translation>clé</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Basic user name.</source>
        <translation>Nom d’utilisateur Basic.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>name</source>
        <translation>nom</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Basic password.</source>
        <translation>Mot de passe Basic.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>password</source>
        <translation>mot-de-passe</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>HMAC secret of JWTs.</source>
        <translation>Secret HMAC des JWT.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>secret</source>
        <translation>secret</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>URL of a JWKS.</source>
        <translation>URL d’un JWKS.</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>url</source>
        <translation>url</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Required iss of JWTs.</source>
        <translation>iss exigé des JWT.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>issuer</source>
        <translation>émetteur</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Required aud of JWTs.</source>
        <translation>aud exigé des JWT.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>audience</source>
        <translation>audience</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>kvdesk credentials: say show, set, rotate or clear (see --help)
</source>
        <translation>kvdesk credentials : indiquez show, set, rotate ou clear (voir --help)
</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>kvdesk credentials: %1
</source>
        <translation>kvdesk credentials : %1
</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Removed the credentials from the keychain.
</source>
        <translation>Identifiants supprimés du trousseau.
</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>API key: %1
</source>
        <translation>Clé d’API : %1
</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>New API key (the old one stops working when the server reads it again): %1
</source>
        <translation>Nouvelle clé d’API (l’ancienne cesse de fonctionner quand le serveur relit ses identifiants) : %1
</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>kvdesk credentials: Basic needs both a user name and a password
</source>
        <translation>kvdesk credentials : Basic demande un nom d’utilisateur et un mot de passe
</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>kvdesk credentials: unknown action &quot;%1&quot; (show, set, rotate or clear)
</source>
        <translation>kvdesk credentials : action inconnue « %1 » (show, set, rotate ou clear)
</translation>
    </message>
</context>
<context>
    <name>kvdesk::CredentialsDialog</name>
    <message>
        <location filename="../ui/credentialsdialog.cpp" line="+24"/>
        <source>Server Credentials</source>
        <translation>Identifiants du serveur</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>API key (&quot;Authorization: Bearer &lt;key&gt;&quot;)</source>
        <translation>Clé d’API (&quot;Authorization: Bearer &lt;key&gt;&quot;)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Rotate</source>
        <translation>&amp;Renouveler</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Generate</source>
        <translation>&amp;Générer</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A new random key (32 bytes); the old one stops working once you save</source>
        <translation>Une nouvelle clé aléatoire (32 octets) ; l’ancienne cesse de fonctionner à l’enregistrement</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Copy</source>
        <translation>Copier</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Basic (user name and password)</source>
        <translation>Basic (nom d’utilisateur et mot de passe)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>JWT (HMAC secret, or public keys from a JWKS)</source>
        <translation>JWT (secret HMAC, ou clés publiques d’un JWKS)</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Key:</source>
        <translation>Clé :</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>User name:</source>
        <translation>Nom d’utilisateur :</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Password:</source>
        <translation>Mot de passe :</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Secret:</source>
        <translation>Secret :</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>JWKS URL:</source>
        <translation>URL du JWKS :</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Issuer (iss):</source>
        <translation>Émetteur (iss) :</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Audience (aud):</source>
        <translation>Audience (aud) :</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>An API key needs at least 16 characters (Generate makes a strong one).</source>
        <translation>Une clé d’API demande au moins 16 caractères (Générer en crée une solide).</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Basic needs both a user name and a password.</source>
        <translation>Basic demande un nom d’utilisateur et un mot de passe.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A Basic user name cannot contain &apos;:&apos;.</source>
        <translation>Un nom d’utilisateur Basic ne peut pas contenir « : ».</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>JWT needs a secret or a JWKS URL.</source>
        <translation>JWT demande un secret ou une URL de JWKS.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The JWKS URL must be an http(s) URL.</source>
        <translation>L’URL du JWKS doit être une URL http(s).</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>With every strategy off, every kv and admin request is refused (401).</source>
        <translation>Si toutes les méthodes sont désactivées, toute requête kv ou d’administration est refusée (401).</translation>
    </message>
</context>
<context>
    <name>kvdesk::DatabaseDialog</name>
    <message>
        <location filename="../ui/databasedialog.cpp" line="+24"/>
        <source>Open PostgreSQL Database</source>
        <translation>Ouvrir une base PostgreSQL</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Prefer (encrypted when the server offers it)</source>
        <translation>Préférer (chiffré si le serveur le propose)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Require</source>
        <translation>Exiger</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Disable</source>
        <translation>Désactiver</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Keep the password in the OS keychain</source>
        <translation>Conserver le mot de passe dans le trousseau du système</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>&amp;Host:</source>
        <translation>&amp;Hôte :</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Port:</source>
        <translation>&amp;Port :</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Database:</source>
        <translation>&amp;Base de données :</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;User:</source>
        <translation>&amp;Utilisateur :</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Pass&amp;word:</source>
        <translation>&amp;Mot de passe :</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Encryption:</source>
        <translation>&amp;Chiffrement :</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Open</source>
        <translation>&amp;Ouvrir</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>KV Desk reopens on this database; several KV Desk servers can share it.</source>
        <translation>KV Desk se rouvre sur cette base ; plusieurs serveurs KV Desk peuvent la partager.</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>Name the server&apos;s host.</source>
        <translation>Indiquez l’hôte du serveur.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Name the database.</source>
        <translation>Indiquez la base de données.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Name the user.</source>
        <translation>Indiquez l’utilisateur.</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Saving the password to the keychain...</source>
        <translation>Enregistrement du mot de passe dans le trousseau...</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Open again to use the password without keeping it.</source>
        <translation>Ouvrez de nouveau pour utiliser le mot de passe sans le conserver.</translation>
    </message>
</context>
<context>
    <name>kvdesk::DisplayFormat</name>
    <message>
        <location filename="../ui/displayformat.cpp" line="+15"/>
        <source>1 key</source>
        <translation>1 clé</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 keys</source>
        <translation>%1 clés</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>expired</source>
        <translation>expirée</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 min %2 s</source>
        <translation>%1 min %2 s</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>%1 h %2 min</source>
        <translation>%1 h %2 min</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>%1 d %2 h</source>
        <translation>%1 j %2 h</translation>
    </message>
</context>
<context>
    <name>kvdesk::Exporter</name>
    <message>
        <location filename="../server/transfer/exporter.cpp" line="+79"/>
        <source>cannot write: %1</source>
        <translation>écriture impossible : %1</translation>
    </message>
</context>
<context>
    <name>kvdesk::Importer</name>
    <message>
        <location filename="../server/transfer/importer.cpp" line="+25"/>
        <source>%1 records: %2 created, %3 overwritten, %4 unchanged, %5 skipped, %6 expired, %7 invalid</source>
        <translation>%1 enregistrements : %2 créés, %3 écrasés, %4 inchangés, %5 ignorés, %6 expirés, %7 invalides</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>; first bad record at line %1: %2</source>
        <translation> ; premier enregistrement invalide à la ligne %1 : %2</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>; stopped: %1</source>
        <translation> ; interrompu : %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>; cancelled</source>
        <translation> ; annulé</translation>
    </message>
    <message>
        <location line="+131"/>
        <source>line %1: %2</source>
        <translation>ligne %1 : %2</translation>
    </message>
</context>
<context>
    <name>kvdesk::JsonScanner</name>
    <message>
        <location filename="../server/util/jsonscanner.cpp" line="+60"/>
        <source>nested too deeply</source>
        <translation>imbrication trop profonde</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>unexpected end of input</source>
        <translation>fin de l’entrée inattendue</translation>
    </message>
    <message>
        <location line="+19"/>
        <location line="+77"/>
        <source>unexpected character</source>
        <translation>caractère inattendu</translation>
    </message>
    <message>
        <location line="-61"/>
        <source>expected a member name in double quotes</source>
        <translation>nom de membre entre guillemets doubles attendu</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>expected &apos;:&apos; after a member name</source>
        <translation>« : » attendu après un nom de membre</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>expected &apos;,&apos; or &apos;}&apos; in an object</source>
        <translation>« , » ou « } » attendu dans un objet</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>expected &apos;,&apos; or &apos;]&apos; in an array</source>
        <translation>« , » ou « ] » attendu dans un tableau</translation>
    </message>
    <message>
        <location line="+19"/>
        <location line="+15"/>
        <source>malformed number</source>
        <translation>nombre mal formé</translation>
    </message>
    <message>
        <location line="+49"/>
        <location line="+4"/>
        <location line="+5"/>
        <location line="+7"/>
        <source>invalid UTF-8</source>
        <translation>UTF-8 invalide</translation>
    </message>
    <message>
        <location line="+35"/>
        <location line="+32"/>
        <source>unterminated string</source>
        <translation>chaîne non terminée</translation>
    </message>
    <message>
        <location line="-23"/>
        <source>control character in a string</source>
        <translation>caractère de contrôle dans une chaîne</translation>
    </message>
    <message>
        <location line="+55"/>
        <location line="+7"/>
        <source>invalid \u escape</source>
        <translation>séquence \u invalide</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>invalid escape in a string</source>
        <translation>séquence d’échappement invalide dans une chaîne</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>unexpected text after the JSON value</source>
        <translation>texte inattendu après la valeur JSON</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>%1 at line %2, column %3</source>
        <translation>%1 à la ligne %2, colonne %3</translation>
    </message>
</context>
<context>
    <name>kvdesk::JsonText</name>
    <message>
        <location filename="../ui/jsontext.cpp" line="+91"/>
        <source>number</source>
        <translation>nombre</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>object</source>
        <translation>objet</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>array</source>
        <translation>tableau</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>string</source>
        <translation>chaîne</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>boolean</source>
        <translation>booléen</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>null</source>
        <translation>null</translation>
    </message>
</context>
<context>
    <name>kvdesk::KeyActions</name>
    <message>
        <location filename="../ui/keyactions.cpp" line="+60"/>
        <source>&amp;New Key...</source>
        <translation>&amp;Nouvelle clé...</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Save Value</source>
        <translation>&amp;Enregistrer la valeur</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Re&amp;vert Value</source>
        <translation>Ré&amp;tablir la valeur</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Delete...</source>
        <translation>&amp;Supprimer...</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Set &amp;TTL...</source>
        <translation>Définir le &amp;TTL...</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>C&amp;lear TTL</source>
        <translation>E&amp;ffacer le TTL</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>E&amp;xpire Now</source>
        <translation>E&amp;xpirer maintenant</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Rename...</source>
        <translation>&amp;Renommer...</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>D&amp;uplicate...</source>
        <translation>D&amp;upliquer...</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Copy &amp;Key</source>
        <translation>Copier la &amp;clé</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Copy V&amp;alue</source>
        <translation>Copier la v&amp;aleur</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Copy as &amp;curl</source>
        <translation>Copier en commande c&amp;url</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+56"/>
        <source>&amp;Undo</source>
        <translation>&amp;Annuler</translation>
    </message>
    <message>
        <location line="-54"/>
        <source>Re&amp;fresh</source>
        <translation>Actuali&amp;ser</translation>
    </message>
    <message>
        <location line="+54"/>
        <source>&amp;Undo %1</source>
        <translation>&amp;Annuler : %1</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>KV Desk</source>
        <translation>KV Desk</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Cannot read the keys: %1</source>
        <translation>Impossible de lire les clés : %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>That is %1 keys; the window changes at most %2 at once. Narrow the selection.</source>
        <translation>Cela fait %1 clés ; la fenêtre en modifie au plus %2 à la fois. Réduisez la sélection.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Those keys do not exist any more.</source>
        <translation>Ces clés n’existent plus.</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>The database refused the change: %1</source>
        <translation>La base de données a refusé la modification : %1</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Created %1</source>
        <translation>%1 créée</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A key named %1 exists already.</source>
        <translation>Une clé nommée %1 existe déjà.</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>create %1</source>
        <translation>création de %1</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>The value is not valid JSON; fix it before saving.</source>
        <translation>La valeur n’est pas du JSON valide ; corrigez-la avant d’enregistrer.</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Cannot save %1: %2</source>
        <translation>Impossible d’enregistrer %1 : %2</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>edit of %1</source>
        <translation>modification de %1</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Saved %1</source>
        <translation>%1 enregistrée</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Took the stored version of %1</source>
        <translation>Version enregistrée de %1 reprise</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Delete the key %1?</source>
        <translation>Supprimer la clé %1 ?</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Delete %1?</source>
        <translation>Supprimer %1 ?</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>This includes everything in %1.</source>
        <translation>Cela comprend tout le contenu de %1.</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+3"/>
        <source>Delete</source>
        <translation>Supprimer</translation>
    </message>
    <message>
        <location line="-1"/>
        <source>You can undo this with Edit &gt; Undo.</source>
        <translation>Vous pouvez l’annuler avec Édition &gt; Annuler.</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Deleted %1</source>
        <translation>%1 supprimé</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The keys changed meanwhile; nothing was deleted.</source>
        <translation>Les clés ont changé entre-temps ; rien n’a été supprimé.</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>delete of %1</source>
        <translation>suppression de %1</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Set TTL</source>
        <translation>Définir le TTL</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Expire after how many seconds?</source>
        <translation>Expirer après combien de secondes ?</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Expired %1</source>
        <translation>%1 a expiré</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 now expires in %2</source>
        <translation>%1 expire maintenant dans %2</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 never expires now</source>
        <translation>%1 n’expire plus jamais</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The keys changed meanwhile; nothing was changed. Try again.</source>
        <translation>Les clés ont changé entre-temps ; rien n’a été modifié. Réessayez.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>expiry of %1</source>
        <translation>expiration de %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>TTL change of %1</source>
        <translation>changement de TTL de %1</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Duplicate</source>
        <translation>Dupliquer</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Rename</source>
        <translation>Renommer</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New name of the folder %1:</source>
        <translation>Nouveau nom du dossier %1 :</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New name of the key %1:</source>
        <translation>Nouveau nom de la clé %1 :</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+1"/>
        <source>-copy</source>
        <translation>-copie</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>%1 would be longer than 512 bytes.</source>
        <translation>%1 dépasserait 512 octets.</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Duplicated %1 as %2</source>
        <translation>%1 dupliqué en %2</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Renamed %1 to %2</source>
        <translation>%1 renommé en %2</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 exists already, or the keys changed meanwhile; nothing was changed.</source>
        <translation>%1 existe déjà, ou les clés ont changé entre-temps ; rien n’a été modifié.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>duplicate of %1</source>
        <translation>duplication de %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>rename of %1</source>
        <translation>renommage de %1</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>Copied the key name</source>
        <translation>Nom de la clé copié</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Copied %1 key names</source>
        <translation>%1 noms de clés copiés</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>%1 does not exist any more.</source>
        <translation>%1 n’existe plus.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Copied the value of %1</source>
        <translation>Valeur de %1 copiée</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>The server is not listening; start it in the server panel first.</source>
        <translation>Le serveur n’écoute pas ; démarrez-le d’abord dans le panneau du serveur.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Copied a curl command that reads %1</source>
        <translation>Commande curl qui lit %1 copiée</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Undid the %1</source>
        <translation>Annulé : %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cannot undo the %1: the keys changed since.</source>
        <translation>Impossible d’annuler : %1 ; les clés ont changé depuis.</translation>
    </message>
</context>
<context>
    <name>kvdesk::KeyModel</name>
    <message>
        <location filename="../ui/keymodel.cpp" line="+300"/>
        <source>Key</source>
        <translation>Clé</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Size</source>
        <translation>Taille</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Expires in</source>
        <translation>Expire dans</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Updated</source>
        <translation>Modifiée</translation>
    </message>
</context>
<context>
    <name>kvdesk::KvController</name>
    <message>
        <location filename="../server/http/kvcontroller.cpp" line="+74"/>
        <source>The key has a bad percent-escape: %1</source>
        <translation>La clé contient un échappement pour cent invalide : %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+50"/>
        <source>The key is empty</source>
        <translation>La clé est vide</translation>
    </message>
    <message>
        <location line="-47"/>
        <source>The key is %1 bytes long; at most %2 bytes are allowed</source>
        <translation>La clé fait %1 octets ; %2 octets au plus sont permis</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The key is not valid UTF-8</source>
        <translation>La clé n’est pas de l’UTF-8 valide</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>If-Match and If-None-Match cannot be combined</source>
        <translation>If-Match et If-None-Match ne peuvent pas être combinés</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>If-None-Match on a write supports only &quot;*&quot; (create if absent)</source>
        <translation>If-None-Match n’accepte que &quot;*&quot; pour une écriture (créer si absente)</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Precondition failed: the key has changed or does not exist</source>
        <translation>Précondition non remplie : la clé a changé ou n’existe pas</translation>
    </message>
    <message>
        <location line="+83"/>
        <source>The body is empty; send a JSON object {&quot;value&quot;: ..., &quot;ttl&quot;?: seconds}</source>
        <translation>Le corps est vide ; envoyez un objet JSON {&quot;value&quot;: ..., &quot;ttl&quot;?: secondes}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The body is not a JSON object: %1</source>
        <translation>Le corps n’est pas un objet JSON : %1</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>value must not be null</source>
        <translation>value ne doit pas être null</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>value is required</source>
        <translation>value est obligatoire</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The value is %1 bytes of JSON; at most %2 bytes are allowed</source>
        <translation>La valeur fait %1 octets de JSON ; %2 octets au plus sont permis</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>ttl must be a whole number of seconds, at least 1 (or null for no expiry)</source>
        <translation>ttl doit être un nombre entier de secondes, au moins 1 (ou null pour ne jamais expirer)</translation>
    </message>
    <message>
        <location line="+43"/>
        <source>cursor is not one this server returned</source>
        <translation>cursor n’a pas été renvoyé par ce serveur</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>limit must be a whole number from 1 to %1</source>
        <translation>limit doit être un nombre entier de 1 à %1</translation>
    </message>
</context>
<context>
    <name>kvdesk::KvServer</name>
    <message>
        <location filename="../server/kvserver.cpp" line="+89"/>
        <source>cannot listen on &quot;%1&quot;: not an IP address</source>
        <translation>impossible d’écouter sur « %1 » : ce n’est pas une adresse IP</translation>
    </message>
    <message>
        <location line="+19"/>
        <location line="+23"/>
        <source>cannot listen on %1 port %2: %3</source>
        <translation>impossible d’écouter sur %1 port %2 : %3</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>cannot start the server: %1</source>
        <translation>impossible de démarrer le serveur : %1</translation>
    </message>
</context>
<context>
    <name>kvdesk::MainWindow</name>
    <message>
        <location filename="../ui/mainwindow.cpp" line="+48"/>
        <source>KV Desk</source>
        <translation>KV Desk</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Filter keys (Ctrl+F)</source>
        <translation>Filtrer les clés (Ctrl+F)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Contains</source>
        <translation>Contient</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Starts with</source>
        <translation>Commence par</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>Server</source>
        <translation>Serveur</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Loading...</source>
        <translation>Chargement...</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Cannot read the store: %1</source>
        <translation>Impossible de lire le magasin : %1</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>&amp;Quit</source>
        <translation>&amp;Quitter</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Find Keys</source>
        <translation>&amp;Chercher des clés</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>&amp;Flat List</source>
        <translation>Liste &amp;plate</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>&amp;Start or Stop the Server</source>
        <translation>&amp;Démarrer ou arrêter le serveur</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Copy Server &amp;URL</source>
        <translation>Copier l’&amp;URL du serveur</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Credentials...</source>
        <translation>&amp;Identifiants...</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Copy the API &amp;Key</source>
        <translation>Copier la &amp;clé d’API</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Export Keys...</source>
        <translation>&amp;Exporter des clés...</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Import Keys...</source>
        <translation>&amp;Importer des clés...</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Open &amp;PostgreSQL Database...</source>
        <translation>Ouvrir une base &amp;PostgreSQL...</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;About KV Desk</source>
        <translation>À &amp;propos de KV Desk</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>About KV Desk</source>
        <translation>À propos de KV Desk</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&lt;b&gt;KV Desk %1&lt;/b&gt;&lt;br&gt;A JSON key/value server and desktop admin app.&lt;p&gt;Free software under the MIT License. Built with Qt %2.&lt;/p&gt;</source>
        <translation>&lt;b&gt;KV Desk %1&lt;/b&gt;&lt;br&gt;Un serveur clé/valeur JSON et son application d’administration.&lt;p&gt;Logiciel libre sous licence MIT. Construit avec Qt %2.&lt;/p&gt;</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;File</source>
        <translation>&amp;Fichier</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>&amp;Edit</source>
        <translation>É&amp;dition</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>&amp;View</source>
        <translation>&amp;Affichage</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>&amp;Server</source>
        <translation>&amp;Serveur</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;Help</source>
        <translation>Aid&amp;e</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Main</source>
        <translation>Principale</translation>
    </message>
    <message>
        <location line="+61"/>
        <source>Counting keys...</source>
        <translation>Comptage des clés...</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 keys</source>
        <translation>%1 clés</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 of %2 keys match</source>
        <translation>%1 clés sur %2 correspondent</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Save (Ctrl+S) or revert your changes to “%1” before opening another key.</source>
        <translation>Enregistrez (Ctrl+S) ou annulez vos modifications de « %1 » avant d’ouvrir une autre clé.</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Cannot read “%1”: %2</source>
        <translation>Impossible de lire « %1 » : %2</translation>
    </message>
    <message>
        <location line="+68"/>
        <source>Unsaved changes</source>
        <translation>Modifications non enregistrées</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The value of “%1” has unsaved changes. Discard them?</source>
        <translation>La valeur de « %1 » a des modifications non enregistrées. Les abandonner ?</translation>
    </message>
</context>
<context>
    <name>kvdesk::NewKeyDialog</name>
    <message>
        <location filename="../ui/newkeydialog.cpp" line="+22"/>
        <source>New Key</source>
        <translation>Nouvelle clé</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>for example users/42</source>
        <translation>par exemple users/42</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Any JSON value, for example {&quot;name&quot;: &quot;Ada&quot;}</source>
        <translation>N’importe quelle valeur JSON, par exemple {&quot;name&quot;: &quot;Ada&quot;}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>never expires</source>
        <translation>n’expire jamais</translation>
    </message>
    <message>
        <location line="+1"/>
        <source> s</source>
        <translation> s</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Create</source>
        <translation>Créer</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Key:</source>
        <translation>&amp;Clé :</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Value:</source>
        <translation>&amp;Valeur :</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Expires after:</source>
        <translation>&amp;Expire après :</translation>
    </message>
    <message>
        <location line="+35"/>
        <source>Type a key.</source>
        <translation>Saisissez une clé.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A key is at most 512 bytes long (this one is %1).</source>
        <translation>Une clé fait au plus 512 octets (celle-ci en fait %1).</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Type a JSON value.</source>
        <translation>Saisissez une valeur JSON.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Line %1, column %2: %3</source>
        <translation>Ligne %1, colonne %2 : %3</translation>
    </message>
</context>
<context>
    <name>kvdesk::PercentCodec</name>
    <message>
        <location filename="../server/http/percentcodec.cpp" line="+36"/>
        <source>incomplete percent-escape at the end</source>
        <translation>échappement pour cent incomplet à la fin</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>invalid percent-escape &quot;%1&quot;</source>
        <translation>échappement pour cent invalide « %1 »</translation>
    </message>
    <message>
        <location line="+68"/>
        <source>the query string is not valid UTF-8</source>
        <translation>la chaîne de requête n’est pas de l’UTF-8 valide</translation>
    </message>
</context>
<context>
    <name>kvdesk::RateChart</name>
    <message>
        <location filename="../ui/ratechart.cpp" line="+67"/>
        <source>last 5 min · peak %1 req/s · last minute: %2 req/s, %3% errors</source>
        <translation>5 dernières min · pic %1 req/s · dernière minute : %2 req/s, %3 % d’erreurs</translation>
    </message>
</context>
<context>
    <name>kvdesk::RecordReader</name>
    <message>
        <location filename="../server/transfer/recordreader.cpp" line="+32"/>
        <source>the key is empty</source>
        <translation>la clé est vide</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>the key is longer than 512 bytes</source>
        <translation>la clé dépasse 512 octets</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>the key is not valid UTF-8</source>
        <translation>la clé n’est pas de l’UTF-8 valide</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>the input ends inside a value</source>
        <translation>l’entrée se termine au milieu d’une valeur</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>a value is larger than 64 MiB</source>
        <translation>une valeur dépasse 64 Mio</translation>
    </message>
    <message>
        <location line="+55"/>
        <source>the input is neither NDJSON, a JSON array nor a JSON object</source>
        <translation>l’entrée n’est ni du NDJSON, ni un tableau JSON, ni un objet JSON</translation>
    </message>
    <message>
        <location line="+33"/>
        <source>not a JSON object: %1</source>
        <translation>pas un objet JSON : %1</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>&quot;%1&quot; must be a positive number of seconds</source>
        <translation>« %1 » doit être un nombre positif de secondes</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>&quot;key&quot; is missing or not a string</source>
        <translation>« key » est absent ou n’est pas une chaîne</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&quot;value&quot; is missing</source>
        <translation>« value » est absent</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>&quot;value&quot; must be a string in this format</source>
        <translation>« value » doit être une chaîne dans ce format</translation>
    </message>
    <message>
        <location line="+42"/>
        <source>a line is longer than 64 MiB</source>
        <translation>une ligne dépasse 64 Mio</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>unexpected text after the end of the dump</source>
        <translation>texte inattendu après la fin de l’export</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>expected &apos;,&apos; or &apos;%1&apos;</source>
        <translation>« , » ou « %1 » attendu</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>expected a member name and &apos;:&apos;</source>
        <translation>nom de membre et « : » attendus</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>the value is not valid JSON: %1</source>
        <translation>la valeur n’est pas du JSON valide : %1</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>the value is null (delete the key instead)</source>
        <translation>la valeur est null (supprimez plutôt la clé)</translation>
    </message>
</context>
<context>
    <name>kvdesk::RequestLogModel</name>
    <message>
        <location filename="../ui/requestlogmodel.cpp" line="+77"/>
        <source>%1 ms</source>
        <translation>%1 ms</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Time</source>
        <translation>Heure</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Client</source>
        <translation>Client</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Method</source>
        <translation>Méthode</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Path</source>
        <translation>Chemin</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Status</source>
        <translation>Statut</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Latency</source>
        <translation>Latence</translation>
    </message>
</context>
<context>
    <name>kvdesk::ServerPanel</name>
    <message>
        <location filename="../ui/serverpanel.cpp" line="+55"/>
        <source>Copy the URL</source>
        <translation>Copier l’URL</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>any free port</source>
        <translation>n’importe quel port libre</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Apply</source>
        <translation>Appliquer</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Restart the listener on this host and port</source>
        <translation>Redémarrer l’écoute sur cette adresse et ce port</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Credentials...</source>
        <translation>Identifiants...</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Copy the API key</source>
        <translation>Copier la clé d’API</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>URL:</source>
        <translation>URL :</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>State:</source>
        <translation>État :</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Listen on:</source>
        <translation>Écoute sur :</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Keys:</source>
        <translation>Clés :</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Database:</source>
        <translation>Base de données :</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Authentication:</source>
        <translation>Authentification :</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Filter the request log (method, path, status, client)</source>
        <translation>Filtrer le journal des requêtes (méthode, chemin, statut, client)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Clear</source>
        <translation>Vider</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>counting...</source>
        <translation>comptage...</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>%1 (%2, SQLite)</source>
        <translation>%1 (%2, SQLite)</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>not listening</source>
        <translation>n’écoute pas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Running</source>
        <translation>En marche</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Stopped</source>
        <translation>Arrêté</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Stop</source>
        <translation>Arrêter</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Start</source>
        <translation>Démarrer</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>API key %1…: send &quot;Authorization: Bearer &lt;key&gt;&quot; (the copy button copies it; Copy as curl includes it)</source>
        <translation>Clé d’API %1… : envoyez &quot;Authorization: Bearer &lt;key&gt;&quot; (le bouton de copie la copie ; « Copier en commande curl » l’inclut)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Basic: user &quot;%1&quot;</source>
        <translation>Basic : utilisateur « %1 »</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>JWT: send &quot;Authorization: Bearer &lt;jwt&gt;&quot;</source>
        <translation>JWT : envoyez &quot;Authorization: Bearer &lt;jwt&gt;&quot;</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>No credentials are set: every kv and admin request is answered 401.</source>
        <translation>Aucun identifiant n’est défini : toute requête kv ou d’administration reçoit une réponse 401.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>The server stopped listening.</source>
        <translation>Le serveur n’écoute plus.</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Listening on %1</source>
        <translation>Écoute sur %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The server cannot start: %1</source>
        <translation>Le serveur ne peut pas démarrer : %1</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Copied %1</source>
        <translation>%1 copiée</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Generated an API key and kept it in the keychain.</source>
        <translation>Une clé d’API a été générée et conservée dans le trousseau.</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>These credentials are kept for this session only (no keychain in use).</source>
        <translation>Ces identifiants valent pour cette session seulement (aucun trousseau utilisé).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Saving to the keychain...</source>
        <translation>Enregistrement dans le trousseau...</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>%1 The credentials work for this session only; they are not kept for the next start.</source>
        <translation>%1 Les identifiants valent pour cette session seulement ; ils ne sont pas conservés pour le prochain démarrage.</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Saved to the OS keychain and applied to the running server at once. Environment variables (KV_API_KEY, ...) win over these at the next start.</source>
        <translation>Enregistrés dans le trousseau du système et appliqués aussitôt au serveur en marche. Les variables d’environnement (KV_API_KEY, ...) priment sur eux au prochain démarrage.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No keychain is in use: these apply to this session only.</source>
        <translation>Aucun trousseau utilisé : ceux-ci valent pour cette session seulement.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Saved the credentials to the keychain; the server uses them now.</source>
        <translation>Identifiants enregistrés dans le trousseau ; le serveur les utilise dès maintenant.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>No API key is set; open Credentials to generate one.</source>
        <translation>Aucune clé d’API n’est définie ; ouvrez Identifiants pour en générer une.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Copied the API key</source>
        <translation>Clé d’API copiée</translation>
    </message>
</context>
<context>
    <name>kvdesk::Store</name>
    <message>
        <location filename="../server/store/postgresconnection.cpp" line="+125"/>
        <source>The PostgreSQL driver of Qt is not installed (package libqt6sql6-psql)</source>
        <translation>Le pilote PostgreSQL de Qt n’est pas installé (paquet libqt6sql6-psql)</translation>
    </message>
    <message>
        <location line="+13"/>
        <location line="+42"/>
        <source>Cannot connect to the database %1: %2</source>
        <translation>Impossible de se connecter à la base de données %1 : %2</translation>
    </message>
    <message>
        <location line="-11"/>
        <source>The database %1 cannot be reached; try again shortly</source>
        <translation>La base de données %1 est injoignable ; réessayez dans un instant</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>the connection is closed</source>
        <translation>la connexion est fermée</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The database %1 cannot be reached: %2</source>
        <translation>La base de données %1 est injoignable : %2</translation>
    </message>
    <message>
        <location filename="../server/store/postgresbrowser.cpp" line="+72"/>
        <location line="+75"/>
        <location line="+14"/>
        <location filename="../server/store/postgresconnection.cpp" line="+1"/>
        <location filename="../server/store/sqliteconnection.cpp" line="+205"/>
        <location line="+22"/>
        <location filename="../server/store/sqlitestatement.h" line="+58"/>
        <location filename="../server/store/store.cpp" line="+178"/>
        <source>Database error: %1</source>
        <translation>Erreur de base de données : %1</translation>
    </message>
    <message>
        <location filename="../server/store/store.cpp" line="-69"/>
        <source>The database %1 does not exist</source>
        <translation>La base de données %1 n’existe pas</translation>
    </message>
    <message>
        <location line="+4"/>
        <location line="+57"/>
        <source>The database %1 needs migrations (%2); start kvdesk on it once first</source>
        <translation>La base de données %1 a besoin de migrations (%2) ; lancez d’abord kvdesk une fois dessus</translation>
    </message>
    <message>
        <location line="-51"/>
        <source>Cannot create the folder %1</source>
        <translation>Impossible de créer le dossier %1</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>The database %1 is in use by another kvdesk process (pid %2)</source>
        <translation>La base de données %1 est utilisée par un autre processus kvdesk (pid %2)</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Cannot switch %1 to WAL mode: %2</source>
        <translation>Impossible de passer %1 en mode WAL : %2</translation>
    </message>
    <message>
        <location filename="../server/store/sqliteconnection.cpp" line="-141"/>
        <location filename="../server/store/storebrowser.cpp" line="+61"/>
        <source>Cannot prepare a statement: %1</source>
        <translation>Impossible de préparer une instruction : %1</translation>
    </message>
    <message>
        <location filename="../server/store/storebrowser.cpp" line="+65"/>
        <source>The database schema is out of date</source>
        <translation>Le schéma de la base de données est périmé</translation>
    </message>
    <message>
        <location filename="../server/store/sqliteconnection.cpp" line="+27"/>
        <source>Cannot open the database %1: %2</source>
        <translation>Impossible d’ouvrir la base de données %1 : %2</translation>
    </message>
    <message>
        <location filename="../server/store/postgresconnection.cpp" line="+40"/>
        <location filename="../server/store/sqliteconnection.cpp" line="+25"/>
        <source>The database schema is out of date; run the pending migrations (POST {admin}/migrate)</source>
        <translation>Le schéma de la base de données est périmé ; lancez les migrations en attente (POST {admin}/migrate)</translation>
    </message>
    <message>
        <location filename="../server/store/postgresoptions.cpp" line="+31"/>
        <source>the PostgreSQL URL is not valid (postgres://user:password@host:port/database)</source>
        <translation>l’URL PostgreSQL n’est pas valide (postgres://utilisateur:motdepasse@hôte:port/base)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>the PostgreSQL URL names no database (postgres://user:password@host:port/database)</source>
        <translation>l’URL PostgreSQL ne désigne aucune base (postgres://utilisateur:motdepasse@hôte:port/base)</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>the PostgreSQL URL has an unusable option &quot;%1&quot;</source>
        <translation>l’URL PostgreSQL a une option inutilisable « %1 »</translation>
    </message>
</context>
<context>
    <name>kvdesk::StoreService</name>
    <message>
        <location filename="../ui/storeservice.cpp" line="+63"/>
        <source>The store is closed.</source>
        <translation>Le magasin est fermé.</translation>
    </message>
</context>
<context>
    <name>kvdesk::TransferCommand</name>
    <message>
        <location filename="../server/commands/transfercommand.cpp" line="+41"/>
        <source>Writes the keys (all, or those under a prefix) to FILE, or to standard output.
Formats: ndjson (one {&quot;key&quot;,&quot;value&quot;,&quot;expiration&quot;} per line, the default), wrangler (the JSON array `wrangler kv bulk put` reads; values as strings), json ({&quot;key&quot;: value}, without TTLs).</source>
        <translation>Écrit les clés (toutes, ou celles sous un préfixe) dans FICHIER, ou sur la sortie standard.
Formats : ndjson (un {&quot;key&quot;,&quot;value&quot;,&quot;expiration&quot;} par ligne, par défaut), wrangler (le tableau JSON que lit `wrangler kv bulk put` ; valeurs en chaînes), json ({&quot;key&quot;: value}, sans TTL).</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Reads keys from FILE (&quot;-&quot;: standard input): NDJSON, a wrangler bulk array or a JSON object, recognised from the content. One transaction per 1,000 keys; bad records are reported and skipped. Stop the server on that database first, or use POST {admin}/import.</source>
        <translation>Lit des clés dans FICHIER (&quot;-&quot; : entrée standard) : NDJSON, un tableau bulk de wrangler ou un objet JSON, reconnu d’après le contenu. Une transaction par tranche de 1 000 clés ; les enregistrements invalides sont signalés et ignorés. Arrêtez d’abord le serveur sur cette base, ou utilisez POST {admin}/import.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>The database (default: KV_DB, then the default path).</source>
        <translation>La base de données (par défaut : KV_DB, puis le chemin par défaut).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>path</source>
        <translation>chemin</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Only keys that start with this.</source>
        <translation>Seulement les clés qui commencent par ceci.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>prefix</source>
        <translation>préfixe</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ndjson, wrangler or json.</source>
        <translation>ndjson, wrangler ou json.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>format</source>
        <translation>format</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Report what would change; write nothing.</source>
        <translation>Indiquer ce qui changerait ; ne rien écrire.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>What to do with keys that exist: overwrite (default) or skip.</source>
        <translation>Que faire des clés existantes : overwrite (par défaut) ou skip.</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>policy</source>
        <translation>règle</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Where to write (default: standard output).</source>
        <translation>Où écrire (par défaut : la sortie standard).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The dump to read.</source>
        <translation>L’export à lire.</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>kvdesk export: at most one FILE
</source>
        <translation>kvdesk export : au plus un FICHIER
</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>kvdesk import: name one FILE
</source>
        <translation>kvdesk import : indiquez un FICHIER
</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>kvdesk export: --format is ndjson, wrangler or json, not &quot;%1&quot;
</source>
        <translation>kvdesk export : --format vaut ndjson, wrangler ou json, et non « %1 »
</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>kvdesk export: cannot write %1: %2
</source>
        <translation>kvdesk export : impossible d’écrire %1 : %2
</translation>
    </message>
    <message>
        <location line="+15"/>
        <location line="+6"/>
        <source>kvdesk export: %1
</source>
        <translation>kvdesk export : %1
</translation>
    </message>
    <message>
        <location line="-3"/>
        <source>Exported %1 keys (%2 bytes).
</source>
        <translation>%1 clés exportées (%2 octets).
</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>kvdesk import: --on-conflict is skip or overwrite, not &quot;%1&quot;
</source>
        <translation>kvdesk import : --on-conflict vaut skip ou overwrite, et non « %1 »
</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>kvdesk import: cannot read %1: %2
</source>
        <translation>kvdesk import : impossible de lire %1 : %2
</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Dry run (nothing written): %1
</source>
        <translation>Essai à blanc (rien n’a été écrit) : %1
</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Imported: %1
</source>
        <translation>Importé : %1
</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>kvdesk import: %1
</source>
        <translation>kvdesk import : %1
</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Stop that server first, or import through it: POST {admin}/import, or File &gt; Import Keys in its window.
</source>
        <translation>Arrêtez d’abord ce serveur, ou importez par son intermédiaire : POST {admin}/import, ou Fichier &gt; Importer des clés dans sa fenêtre.
</translation>
    </message>
</context>
<context>
    <name>kvdesk::TransferDialog</name>
    <message>
        <location filename="../ui/transferdialog.cpp" line="+31"/>
        <location line="+94"/>
        <source>Import Keys</source>
        <translation>Importer des clés</translation>
    </message>
    <message>
        <location line="-94"/>
        <location line="+96"/>
        <source>Export Keys</source>
        <translation>Exporter des clés</translation>
    </message>
    <message>
        <location line="-93"/>
        <source>Browse...</source>
        <translation>Parcourir...</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;File:</source>
        <translation>&amp;Fichier :</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Overwrite existing keys</source>
        <translation>Écraser les clés existantes</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Keep existing keys (skip)</source>
        <translation>Garder les clés existantes (ignorer)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Existing keys:</source>
        <translation>Clés existantes :</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>NDJSON, a wrangler bulk array or a {&quot;key&quot;: value} object, recognised from the content.</source>
        <translation>NDJSON, un tableau bulk de wrangler ou un objet {&quot;key&quot;: value}, reconnu d’après le contenu.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>every key</source>
        <translation>toutes les clés</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>NDJSON (one key per line, with TTLs)</source>
        <translation>NDJSON (une clé par ligne, avec les TTL)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>wrangler kv bulk put (JSON array, values as strings)</source>
        <translation>wrangler kv bulk put (tableau JSON, valeurs en chaînes)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>JSON object {&quot;key&quot;: value} (no TTLs)</source>
        <translation>Objet JSON {&quot;key&quot;: value} (sans TTL)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Keys starting with:</source>
        <translation>Clés commençant par :</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>F&amp;ormat:</source>
        <translation>F&amp;ormat :</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>&amp;Dry Run</source>
        <translation>Essai à &amp;blanc</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Import</source>
        <translation>&amp;Importer</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Export</source>
        <translation>&amp;Exporter</translation>
    </message>
    <message>
        <location line="+48"/>
        <source>Dumps (*.ndjson *.json *.jsonl);;All files (*)</source>
        <translation>Exports (*.ndjson *.json *.jsonl);;Tous les fichiers (*)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Dumps (*.ndjson *.json);;All files (*)</source>
        <translation>Exports (*.ndjson *.json);;Tous les fichiers (*)</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Choose a file first.</source>
        <translation>Choisissez d’abord un fichier.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>The store is closed.</source>
        <translation>Le magasin est fermé.</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Cannot read %1: %2</source>
        <translation>Impossible de lire %1 : %2</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Cannot write %1: %2</source>
        <translation>Impossible d’écrire %1 : %2</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Trying...</source>
        <translation>Essai...</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Importing...</source>
        <translation>Importation...</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Exporting...</source>
        <translation>Exportation...</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Failed: %1</source>
        <translation>Échec : %1</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Failed after %1 keys: %2</source>
        <translation>Échec après %1 clés : %2</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cancelled after %1 keys; the file is incomplete.</source>
        <translation>Annulé après %1 clés ; le fichier est incomplet.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Exported %1 keys (%2 bytes) to %3.</source>
        <translation>%1 clés (%2 octets) exportées vers %3.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Dry run, nothing was written: %1</source>
        <translation>Essai à blanc, rien n’a été écrit : %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Imported: %1</source>
        <translation>Importé : %1</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>create</source>
        <translation>créer</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>overwrite</source>
        <translation>écraser</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>unchanged</source>
        <translation>inchangée</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>skip</source>
        <translation>ignorer</translation>
    </message>
</context>
<context>
    <name>kvdesk::ValueEditor</name>
    <message>
        <location filename="../ui/valueeditor.cpp" line="+46"/>
        <source>&amp;Save</source>
        <translation>&amp;Enregistrer</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Save the value (Ctrl+S)</source>
        <translation>Enregistrer la valeur (Ctrl+S)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Re&amp;vert</source>
        <translation>Ré&amp;tablir</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Select a key to see its value.</source>
        <translation>Sélectionnez une clé pour voir sa valeur.</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>This key does not exist (any more). Type a value and save to create it.</source>
        <translation>Cette clé n’existe pas (ou plus). Saisissez une valeur et enregistrez pour la créer.</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>This value was just changed elsewhere; showing the new value.</source>
        <translation>Cette valeur vient d’être modifiée ailleurs ; la nouvelle valeur est affichée.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This key was just deleted or expired elsewhere.</source>
        <translation>Cette clé vient d’être supprimée ailleurs, ou a expiré.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>This key was changed elsewhere since you opened it. Saving will ask which version to keep.</source>
        <translation>Cette clé a été modifiée ailleurs depuis que vous l’avez ouverte. À l’enregistrement, on vous demandera quelle version garder.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>This key was deleted elsewhere since you opened it. Saving will create it again.</source>
        <translation>Cette clé a été supprimée ailleurs depuis que vous l’avez ouverte. L’enregistrer la recréera.</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>Valid JSON: %1, %2</source>
        <translation>JSON valide : %1, %2</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Line %1, column %2: %3</source>
        <translation>Ligne %1, colonne %2 : %3</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>No key selected</source>
        <translation>Aucune clé sélectionnée</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>New key (not saved yet)</source>
        <translation>Nouvelle clé (pas encore enregistrée)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>expires in %1</source>
        <translation>expire dans %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>never expires</source>
        <translation>n’expire jamais</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 · %2 · %3 · updated %4</source>
        <translation>%1 · %2 · %3 · modifiée %4</translation>
    </message>
</context>
<context>
    <name>main</name>
    <message>
        <location filename="../server/launch.cpp" line="+98"/>
        <source>Shutting down...
</source>
        <translation>Arrêt...
</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>KV Desk %1 listening on %2
</source>
        <translation>KV Desk %1 écoute sur %2
</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Database: %1
</source>
        <translation>Base de données : %1
</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>No credentials are configured, so every kv and admin request is answered 401.
Set one, for example:  KV_API_KEY=$(openssl rand -hex 32) kvdesk --no-gui
</source>
        <translation>Aucun identifiant n’est configuré : toute requête kv ou d’administration reçoit donc une réponse 401.
Définissez-en un, par exemple :  KV_API_KEY=$(openssl rand -hex 32) kvdesk --no-gui
</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Authenticate with the API key made for you at this first launch: the window&apos;s server panel copies it (Server &gt; Copy the API Key, Ctrl+Shift+Y):
  curl -H &quot;Authorization: Bearer &lt;key&gt;&quot; %1/hello
</source>
        <translation>Authentifiez-vous avec la clé d’API créée pour vous à ce premier lancement : le panneau du serveur de la fenêtre la copie (Serveur &gt; Copier la clé d’API, Ctrl+Maj+Y) :
  curl -H &quot;Authorization: Bearer &lt;key&gt;&quot; %1/hello
</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Authenticate with the API key kept in the OS keychain (`kvdesk credentials show` prints it):
  curl -H &quot;Authorization: Bearer &lt;key&gt;&quot; %1/hello
</source>
        <translation>Authentifiez-vous avec la clé d’API conservée dans le trousseau du système (`kvdesk credentials show` l’affiche) :
  curl -H &quot;Authorization: Bearer &lt;key&gt;&quot; %1/hello
</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Authenticate with the API key from %1:
  curl -H &quot;Authorization: Bearer $%1&quot; %2/hello
</source>
        <translation>Authentifiez-vous avec la clé d’API de %1 :
  curl -H &quot;Authorization: Bearer $%1&quot; %2/hello
</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Authenticate with the Basic credentials kept in the OS keychain (user &quot;%1&quot;).
</source>
        <translation>Authentifiez-vous avec les identifiants Basic conservés dans le trousseau du système (utilisateur « %1 »).
</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Authenticate with Basic credentials from %1 and %2:
  curl -u &quot;$%1:$%2&quot; %3/hello
</source>
        <translation>Authentifiez-vous avec les identifiants Basic de %1 et %2 :
  curl -u &quot;$%1:$%2&quot; %3/hello
</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Authenticate with a JWT signed with the secret kept in the OS keychain.
</source>
        <translation>Authentifiez-vous avec un JWT signé avec le secret conservé dans le trousseau du système.
</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Authenticate with a JWT signed with %1 (HS256/384/512), sent as &quot;Authorization: Bearer &lt;jwt&gt;&quot;.
</source>
        <translation>Authentifiez-vous avec un JWT signé avec %1 (HS256/384/512), envoyé comme &quot;Authorization: Bearer &lt;jwt&gt;&quot;.
</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Authenticate with a JWT signed by a key of the JWKS at %1, sent as &quot;Authorization: Bearer &lt;jwt&gt;&quot;.
</source>
        <translation>Authentifiez-vous avec un JWT signé par une clé du JWKS à l’adresse %1, envoyé comme &quot;Authorization: Bearer &lt;jwt&gt;&quot;.
</translation>
    </message>
    <message>
        <location filename="../ui/guimain.cpp" line="+48"/>
        <source>KV Desk</source>
        <translation>KV Desk</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cannot open the database: %1</source>
        <translation>Impossible d’ouvrir la base de données : %1</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>The server cannot start: %1</source>
        <translation>Le serveur ne peut pas démarrer : %1</translation>
    </message>
</context>
</TS>
