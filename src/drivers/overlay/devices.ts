/** Device names of one overlay subnet's data path on a host: bridge and VXLAN device, by VNI (they fit IFNAMSIZ up to 2^24). */
export const overlayDevices = (vni: number) => ({ bridge: `ov${vni}`, vxlan: `vx${vni}` });
