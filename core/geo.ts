/** WGS 84 positions as the vehicles' GNSS reports them, and distances between them. */
export interface GeoPoint {
  lat: number;
  lon: number;
}

/** Mean Earth radius (IUGG), metres: haversine on a sphere is within 0.5 % of the ellipsoid, plenty at street scale. */
const EARTH_RADIUS_M = 6_371_008.8;

/** Great-circle distance in metres. */
export function haversineMeters(a: GeoPoint, b: GeoPoint): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}
