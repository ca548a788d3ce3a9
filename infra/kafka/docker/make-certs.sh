#!/bin/sh
# Makes, once, what docker-compose.yml's SASL_SSL broker needs, with the JDK's keytool only (the
# apache/kafka image has no openssl): a CA, the broker's key and certificate (for kafka,
# localhost and 127.0.0.1) signed by it, PKCS12 key and trust stores, the file holding their
# password (the image reads it, see KAFKA_SSL_*_CREDENTIALS), and ca.crt, the PEM CA the clients
# are given as KAFKA_SSL_CA_FILE.
#   sh make-certs.sh [DIR [PUBLIC_DIR]]   (default /etc/kafka/secrets; PUBLIC_DIR gets a copy of
#   ca.crt readable by anyone). With KAFKA_CLIENT_USER and KAFKA_CLIENT_PASSWORD set it also
#   writes client.properties, which the broker's health check connects with.
set -eu
dir="${1:-/etc/kafka/secrets}"
public="${2:-}"
if [ -f "$dir/broker.p12" ] && [ -f "$dir/ca.crt" ]; then
  echo "certificates already in $dir"
  exit 0
fi
mkdir -p "$dir"
umask 077
password="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s' "$password" > "$dir/store.password"
days=825

keytool -genkeypair -alias ca -dname "CN=Bluelight compose CA" -keyalg RSA -keysize 2048 \
  -validity "$days" -ext bc:c -ext ku:c=keyCertSign,cRLSign \
  -keystore "$dir/ca.p12" -storetype PKCS12 -storepass "$password"
keytool -exportcert -rfc -alias ca -keystore "$dir/ca.p12" -storepass "$password" > "$dir/ca.crt"

keytool -genkeypair -alias broker -dname "CN=kafka" -keyalg RSA -keysize 2048 -validity "$days" \
  -keystore "$dir/broker.p12" -storetype PKCS12 -storepass "$password"
keytool -certreq -alias broker -keystore "$dir/broker.p12" -storepass "$password" > "$dir/broker.csr"
keytool -gencert -alias ca -keystore "$dir/ca.p12" -storepass "$password" -rfc -validity "$days" \
  -ext "SAN=dns:kafka,dns:localhost,ip:127.0.0.1" -ext ku:c=digitalSignature,keyEncipherment \
  -ext eku=serverAuth,clientAuth -infile "$dir/broker.csr" > "$dir/broker.crt"
keytool -importcert -noprompt -alias ca -file "$dir/ca.crt" -keystore "$dir/broker.p12" -storepass "$password"
keytool -importcert -noprompt -alias broker -file "$dir/broker.crt" -keystore "$dir/broker.p12" -storepass "$password"
keytool -importcert -noprompt -alias ca -file "$dir/ca.crt" \
  -keystore "$dir/truststore.p12" -storetype PKCS12 -storepass "$password"
rm -f "$dir/broker.csr"
if [ -n "${KAFKA_CLIENT_PASSWORD:-}" ]; then
  cat > "$dir/client.properties" <<PROPERTIES
security.protocol=SASL_SSL
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${KAFKA_CLIENT_USER:-bluelight}" password="$KAFKA_CLIENT_PASSWORD";
ssl.truststore.type=PKCS12
ssl.truststore.location=$dir/truststore.p12
ssl.truststore.password=$password
PROPERTIES
fi
# The CA certificate is public; the services' containers (user node) read it.
chmod 644 "$dir/ca.crt"
if [ -n "$public" ]; then
  mkdir -p "$public"
  cp "$dir/ca.crt" "$public/ca.crt"
  chmod 755 "$public"
  chmod 644 "$public/ca.crt"
fi
echo "made a CA and the broker's certificate in $dir"
