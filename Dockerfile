# The team gateway's image (`dubbo-tunnel gateway`, docs/team-mode.md), built from the packed npm
# package, so the image runs exactly what `npm install -g dubbo-tunnel` would:
#   npm pack
#   docker build -t dubbo-tunnel:$(node -p "require('./package.json').version") .
# The package bundles every runtime dependency: the install needs no registry.
FROM node:20-alpine
COPY dubbo-tunnel-*.tgz /tmp/
RUN npm install --global --offline --no-audit --no-fund /tmp/dubbo-tunnel-*.tgz && rm /tmp/dubbo-tunnel-*.tgz
# The image's own non-root user (uid 1000), which the Deployment's runAsUser names.
USER node
# Laptops (Dubbo and Triple/gRPC), then /healthz, /readyz and /metrics.
EXPOSE 20880 8081
ENTRYPOINT ["dubbo-tunnel"]
CMD ["gateway"]
