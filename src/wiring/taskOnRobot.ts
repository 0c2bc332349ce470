/**
 * The task a robot phase runs, on the plant it runs on. A built-in task reads the robot plant's
 * signals as configured. A task file names MJCF parts, so the robot is seen through the model:
 * a JointState mapped to `joint_pos`/`joint_vel` gives the joint state and forward kinematics
 * give body and site poses (KinematicsPlant). A term reading what neither gives (contact
 * forces, a sensor the robot does not publish) is refused here, before the robot moves.
 */
import { KinematicsPlant } from '../plant/mujoco/kinematicsPlant.js';
import type { ModelInfo } from '../plant/modelInfo.js';
import type { Plant } from '../plant/plant.js';
import type { ObservationSource } from '../plant/ros/rosPlantConfig.js';
import { getTaskDefinition } from '../task/registry.js';
import type { Task } from '../task/task.js';
import { isTaskFile, loadTaskFile } from '../task/taskFile.js';

const WHAT: Record<string, string> = {
  cfrc_ext: "contact forces on bodies (contact_wrench, a contact_force reward without 'with')",
  actuator_force: 'actuator forces',
  joint_pos: 'joint positions',
};

export async function taskOnRobot(name: string, robot: Plant, observations: readonly ObservationSource[], modelPath?: string): Promise<{ task: Task; plant: Plant }> {
  if (!isTaskFile(name)) return { task: getTaskDefinition(name).create(), plant: robot };
  const loaded = await loadTaskFile(name, { modelPath });
  const joints = observations.find((o) => o.type === 'sensor_msgs/msg/JointState' && o.signals.position === 'joint_pos');
  if (joints === undefined || joints.type !== 'sensor_msgs/msg/JointState') {
    throw new Error(`task file ${loaded.file} on the robot reads the joint state from a sensor_msgs/msg/JointState mapped to joint_pos and joint_vel, e.g. ros.observations [{"topic": "/joint_states", "type": "sensor_msgs/msg/JointState", "fields": {"joint_pos": "position[joint1,joint2]", "joint_vel": "velocity[joint1,joint2]"}}] with the MJCF joint names`);
  }
  checkCommandOrder(loaded.file, loaded.model, robot);
  const plant = await KinematicsPlant.create(robot, loaded.modelPath, { joints: joints.joints });
  const task = loaded.definition.create();
  const have = new Map(plant.signals.map((s) => [s.name, s.size]));
  const missing = task.requiredSignals.filter((r) => have.get(r.name) !== r.size);
  if (missing.length > 0) {
    await plant.close();
    const list = missing.map((r) => `'${r.name}' (${WHAT[r.name] ?? (r.name.startsWith('sensor:') ? `MJCF sensor ${r.name.slice(7)}` : r.name.startsWith('contact_force:') ? 'contact forces between named parts: contact_force, contact termination' : r.name)}, ${r.size} values${have.has(r.name) ? `; the robot gives ${have.get(r.name)}` : ''})`);
    throw new Error(`task ${task.name} (${loaded.file}) reads ${list.join(', ')}, which neither the robot's topics nor the model's kinematics give; map a topic to that signal name in ros.observations or leave those terms out of the task used on the robot`);
  }
  return { task, plant };
}

/**
 * The policy's action i drives the model's actuator i: the robot's command components must be
 * the model's actuators, in its order (named by actuator or by the joint it drives).
 */
function checkCommandOrder(file: string, model: ModelInfo | undefined, robot: Plant): void {
  if (model === undefined) return;
  const { size, names } = robot.command;
  if (size !== model.nu) throw new Error(`task file ${file}: its model ${model.file} has ${model.nu} actuators (${model.actuators.map((a) => a.name).join(', ')}), the robot's command has ${size} components (safety.commandMin/commandMax, ros.command)`);
  if (names === undefined || names.every((n, i) => n === `u${i}`)) return;
  names.forEach((n, i) => {
    const a = model.actuators[i];
    const joint = a.joint >= 0 ? model.joints[a.joint].name : '';
    if (n !== a.name && n !== joint) {
      const at = model.actuators.findIndex((x) => x.name === n || (x.joint >= 0 && model.joints[x.joint].name === n));
      throw new Error(`task file ${file}: the robot's command component ${i} is '${n}', but the model's actuator ${i} is '${a.name}'${joint !== '' ? ` (joint '${joint}')` : ''}${at >= 0 ? `; '${n}' is actuator ${at}` : ''}: list ros.command.jointNames in the model's actuator order (${model.actuators.map((x) => x.name).join(', ')})`);
    }
  });
}
